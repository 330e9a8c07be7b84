/* SPDX-License-Identifier: Apache-2.0 */
/* Token buckets per client: refill arithmetic worked out by hand, eviction, key limits. */
#include <stdio.h>
#include <string.h>

#include "ag_mem.h"
#include "config.h"

#include "ag_test.h"
#include "cb_ratelimit.h"

static void test_bucket(void)
{
    /* 2 tokens a second, bursts of 3. */
    struct cb_ratelimit *rl = cb_ratelimit_new(2, 3, 100);
    ASSERT_NOT_NULL(rl);
    ASSERT_EQ(cb_ratelimit_take(rl, "10.0.0.1", 0), 0);
    ASSERT_EQ(cb_ratelimit_take(rl, "10.0.0.1", 0), 0);
    ASSERT_EQ(cb_ratelimit_take(rl, "10.0.0.1", 0), 0);
    /* Empty: the next token is (1 - 0) / 2 = 0.5 s away, rounded up to 1 s. */
    ASSERT_EQ(cb_ratelimit_take(rl, "10.0.0.1", 0), 1);
    /* Another client has its own bucket. */
    ASSERT_EQ(cb_ratelimit_take(rl, "10.0.0.2", 0), 0);
    /* 1000 ms later: 0 + 1.0 s x 2 = 2 tokens. */
    ASSERT_EQ(cb_ratelimit_take(rl, "10.0.0.1", 1000), 0);
    ASSERT_EQ(cb_ratelimit_take(rl, "10.0.0.1", 1000), 0);
    ASSERT_EQ(cb_ratelimit_take(rl, "10.0.0.1", 1000), 1);
    /* A long pause refills to the burst only: 3 tokens, not 20. */
    ASSERT_EQ(cb_ratelimit_take(rl, "10.0.0.1", 11000), 0);
    ASSERT_EQ(cb_ratelimit_take(rl, "10.0.0.1", 11000), 0);
    ASSERT_EQ(cb_ratelimit_take(rl, "10.0.0.1", 11000), 0);
    ASSERT_EQ(cb_ratelimit_take(rl, "10.0.0.1", 11000), 1);
    ASSERT_EQ(cb_ratelimit_clients(rl), 2);
    cb_ratelimit_free(rl);
}

static void test_retry_after(void)
{
    /* One token every 10 s. */
    struct cb_ratelimit *rl = cb_ratelimit_new(0.1, 1, 10);
    ASSERT_NOT_NULL(rl);
    ASSERT_EQ(cb_ratelimit_take(rl, "c", 0), 0);
    ASSERT_EQ(cb_ratelimit_take(rl, "c", 0), 10);  /* (1 - 0) / 0.1 = 10 s */
    ASSERT_EQ(cb_ratelimit_take(rl, "c", 2500), 8); /* 0.25 tokens: 0.75 / 0.1 = 7.5 -> 8 */
    ASSERT_EQ(cb_ratelimit_take(rl, "c", 10000), 0); /* 1.0 token exactly */
    cb_ratelimit_free(rl);
}

static void test_eviction(void)
{
    struct cb_ratelimit *rl = cb_ratelimit_new(1, 1, 2);
    ASSERT_NOT_NULL(rl);
    ASSERT_EQ(cb_ratelimit_take(rl, "a", 0), 0);
    ASSERT_EQ(cb_ratelimit_take(rl, "b", 0), 0);
    ASSERT_EQ(cb_ratelimit_take(rl, "a", 0), 1); /* a is now the most recently seen */
    ASSERT_EQ(cb_ratelimit_take(rl, "c", 0), 0); /* replaces b, the least recently seen */
    ASSERT_EQ(cb_ratelimit_clients(rl), 2);
    ASSERT_EQ(cb_ratelimit_take(rl, "a", 0), 1); /* a kept its empty bucket */
    ASSERT_EQ(cb_ratelimit_take(rl, "b", 0), 0); /* b starts again with a full one */
    ASSERT_EQ(cb_ratelimit_clients(rl), 2);
    cb_ratelimit_free(rl);
}

static void test_keys(void)
{
    struct cb_ratelimit *rl = cb_ratelimit_new(1, 1, 10);
    char long_key[100];
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    ASSERT_EQ(cb_ratelimit_take(rl, long_key, 0), 0);
    long_key[CB_RATELIMIT_MAX_KEY] = '\0'; /* the same first 63 bytes: the same client */
    ASSERT_EQ(cb_ratelimit_take(rl, long_key, 0), 1);
    ASSERT_EQ(cb_ratelimit_take(rl, "", 0), 0);
    ASSERT_EQ(cb_ratelimit_clients(rl), 2);
    cb_ratelimit_free(rl);
    ASSERT_NULL(cb_ratelimit_new(0, 1, 1));
    ASSERT_NULL(cb_ratelimit_new(-1, 1, 1));
    ASSERT_NULL(cb_ratelimit_new(1, 0.5, 1));
    ASSERT_NULL(cb_ratelimit_new(1, 1, 0));
    cb_ratelimit_free(NULL);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    int built = 0;
    for (long n = 0; n < 100 && !built; n++) {
        ag_mem_fail_after(n);
        struct cb_ratelimit *rl = cb_ratelimit_new(1, 1, 4);
        unsigned w1 = rl != NULL ? cb_ratelimit_take(rl, "a", 0) : 0;
        unsigned w2 = rl != NULL ? cb_ratelimit_take(rl, "a", 0) : 0;
        ag_mem_fail_after(-1);
        if (rl != NULL) {
            /* A bucket that could not be made lets the request through (w2 == 0). */
            ASSERT_EQ(w1, 0);
            ASSERT(w2 == 0 || w2 == 1);
            built = w2 == 1;
        }
        cb_ratelimit_free(rl);
    }
    ASSERT(built);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_bucket), AG_TEST_CASE(test_retry_after), AG_TEST_CASE(test_eviction),
             AG_TEST_CASE(test_keys), AG_TEST_CASE(test_failmalloc))
