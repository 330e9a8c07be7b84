/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of ag_mem's malloc tuning (ag_mem_tune_malloc, ag_mem_release_free): a request-like
 * cycle (an arena filled with ~300 KB, then freed) repeated 200 times takes its pages from the
 * system once instead of every time, the memory kept is given back on demand, and an operator's
 * GLIBC_TUNABLES for malloc are left alone. Sanitizer builds replace malloc (mallopt has no
 * effect there): the cases that count page faults or resident memory skip themselves.
 */
#include "ag_arena.h"
#include "ag_mem.h"
#include "ag_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#if defined(__SANITIZE_ADDRESS__)
#define REPLACED_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define REPLACED_MALLOC 1
#endif
#endif
#ifndef REPLACED_MALLOC
#define REPLACED_MALLOC 0
#endif

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* One request's worth: 300 allocations of 1 KiB written to, in one arena, then freed. */
static void request_cycle(void)
{
    struct ag_arena *a = ag_arena_new(0);
    ASSERT_NOT_NULL(a);
    for (int i = 0; i < 300; i++) {
        void *p = ag_arena_alloc(a, 1024);
        ASSERT_NOT_NULL(p);
        memset(p, i & 0xff, 1024);
    }
    ag_arena_free(a);
}

static void test_operator_tunables_win(void)
{
    setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072", 1);
    ASSERT_EQ(ag_mem_tune_malloc(), 0);
    setenv("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=1024", 1);
    /* Not a malloc tunable: Otter tunes (glibc's mallopt answers 1). */
    int tuned = ag_mem_tune_malloc();
    unsetenv("GLIBC_TUNABLES");
    if (!REPLACED_MALLOC) {
        ASSERT_EQ(tuned, 1);
    }
}

static void test_cycles_reuse_pages(void)
{
    if (REPLACED_MALLOC) {
        printf("# skipped: a sanitizer replaces malloc\n");
        return;
    }
    ASSERT_EQ(ag_mem_tune_malloc(), 1);
    request_cycle(); /* the first cycle takes its pages: ~300 KiB = ~75 pages */
    long before = minor_faults();
    for (int i = 0; i < 200; i++) {
        request_cycle();
    }
    long faults = minor_faults() - before;
    /* Untuned, glibc trims the ~320 KiB at the heap's top after every cycle (over its 128 KiB
     * threshold) and faults ~75+ pages back in on the next: 200 x 75 = 15,000. Tuned, the pages
     * stay: a handful at most (the test's own stack and bookkeeping). */
    if (faults >= 1000) {
        AG_TEST_FAIL_("200 request cycles took %ld page faults (expected < 1000)", faults);
    }
}

static void test_release_free(void)
{
    if (REPLACED_MALLOC) {
        printf("# skipped: a sanitizer replaces malloc\n");
        return;
    }
    ASSERT_EQ(ag_mem_tune_malloc(), 1);
    enum { N = 160, BLOCK = 64 * 1024 }; /* 160 x 64 KiB = 10 MiB, under the 16 MiB threshold */
    void *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = ag_malloc(BLOCK);
        ASSERT_NOT_NULL(blocks[i]);
        memset(blocks[i], 1, BLOCK);
    }
    uint64_t full = ag_mem_rss_bytes();
    for (int i = N - 1; i >= 0; i--) {
        ag_free(blocks[i]);
    }
    uint64_t kept = ag_mem_rss_bytes();
    ag_mem_release_free();
    uint64_t released = ag_mem_rss_bytes();
    /* Freed but kept: resident memory did not drop by the 10 MiB (it stays for reuse). */
    long long given = (long long)full - (long long)kept;
    if (given >= 2ll * 1024 * 1024) {
        AG_TEST_FAIL_("freeing 10 MiB gave back %lld bytes before the release", given);
    }
    /* Released: at least 8 of the 10 MiB go back to the system. */
    if (kept < released || kept - released < 8u * 1024 * 1024) {
        AG_TEST_FAIL_("the release gave back %lld bytes, expected >= 8 MiB",
                      (long long)kept - (long long)released);
    }
}

AG_TEST_MAIN(AG_TEST_CASE(test_operator_tunables_win), AG_TEST_CASE(test_cycles_reuse_pages),
             AG_TEST_CASE(test_release_free))
