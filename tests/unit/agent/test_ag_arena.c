/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of ag_arena, the per-request bump allocator every decode allocates from: alignment,
 * independence of allocations, growth past the first block, the hard cap and how its failures
 * are told apart, and the protobuf-c allocator built on it.
 */
#include "ag_arena.h"
#include "ag_test.h"

#include <stdint.h>
#include <string.h>

static void test_new_free(void)
{
    struct ag_arena *a = ag_arena_new(0);
    ASSERT_NOT_NULL(a);
    ASSERT_UEQ(ag_arena_footprint(a), 0); /* no block until the first allocation */
    ASSERT_EQ(ag_arena_exhausted(a), 0);
    ag_arena_free(a);
    ag_arena_free(NULL);
}

static void test_alignment_and_independence(void)
{
    struct ag_arena *a = ag_arena_new(0);
    ASSERT_NOT_NULL(a);
    uint8_t *ptrs[200];
    size_t sizes[200];
    for (size_t i = 0; i < 200; i++) {
        sizes[i] = 1 + (i * 37) % 300;
        ptrs[i] = ag_arena_alloc(a, sizes[i]);
        ASSERT_NOT_NULL(ptrs[i]);
        ASSERT_UEQ((uintptr_t)ptrs[i] % 16, 0);
        memset(ptrs[i], (int)(i & 0xff), sizes[i]);
    }
    /* Every allocation kept its own bytes: none overlaps another. */
    for (size_t i = 0; i < 200; i++) {
        for (size_t k = 0; k < sizes[i]; k++) {
            if (ptrs[i][k] != (uint8_t)(i & 0xff)) {
                AG_TEST_FAIL_("allocation %zu byte %zu was overwritten", i, k);
            }
        }
    }
    /* A zero-byte request still returns a usable, distinct pointer. */
    void *z1 = ag_arena_alloc(a, 0);
    void *z2 = ag_arena_alloc(a, 0);
    ASSERT_NOT_NULL(z1);
    ASSERT_NOT_NULL(z2);
    ag_arena_free(a);
}

static void test_calloc_strndup(void)
{
    struct ag_arena *a = ag_arena_new(0);
    ASSERT_NOT_NULL(a);
    /* Dirty a block, then check calloc zeroes what it hands out from a fresh one. */
    uint8_t *dirty = ag_arena_alloc(a, 1000);
    ASSERT_NOT_NULL(dirty);
    memset(dirty, 0xAB, 1000);
    uint8_t *z = ag_arena_calloc(a, 5000);
    ASSERT_NOT_NULL(z);
    for (size_t i = 0; i < 5000; i++) {
        if (z[i] != 0) {
            AG_TEST_FAIL_("byte %zu not zero", i);
        }
    }
    char *s = ag_arena_strndup(a, "hello world", 5);
    ASSERT_STREQ(s, "hello");
    char *e = ag_arena_strndup(a, "abc", 0);
    ASSERT_STREQ(e, "");
    char *bin = ag_arena_strndup(a, "a\0b", 3);
    ASSERT_NOT_NULL(bin);
    ASSERT_MEMEQ(bin, "a\0b\0", 4);
    ag_arena_free(a);
}

static void test_growth(void)
{
    struct ag_arena *a = ag_arena_new(0);
    ASSERT_NOT_NULL(a);
    /* Larger than any block the arena starts with. */
    uint8_t *big = ag_arena_alloc(a, 3 * 1024 * 1024);
    ASSERT_NOT_NULL(big);
    memset(big, 1, 3 * 1024 * 1024);
    ASSERT(ag_arena_footprint(a) >= 3 * 1024 * 1024);
    /* Many small allocations spill over several blocks. */
    size_t before = ag_arena_footprint(a);
    for (int i = 0; i < 100000; i++) {
        uint32_t *p = ag_arena_alloc(a, sizeof(*p));
        ASSERT_NOT_NULL(p);
        *p = (uint32_t)i;
    }
    ASSERT(ag_arena_footprint(a) > before);
    /* 100000 16-byte slots plus block headers: the footprint stays in proportion. */
    ASSERT(ag_arena_footprint(a) - before < 4 * 1024 * 1024);
    ag_arena_free(a);
}

/*
 * Blocks stop doubling at 64 KiB, so what the arena holds beyond what it handed out is at most
 * one block. 300,000 bytes in 100-byte pieces (112 after the 16-byte rounding: 2,679 pieces
 * fill 300,048 bytes): blocks of 16 and 32 KiB, then 64 KiB ones (146, 292, then 585 pieces a
 * block), 16 + 32 + 4 x 64 = 304 KiB = 311,296 bytes plus 6 headers. Doubling on to 1 MiB gave
 * 16 + 32 + 64 + 128 + 256 = 496 KiB.
 */
static void test_growth_bounded_waste(void)
{
    struct ag_arena *a = ag_arena_new(0);
    ASSERT_NOT_NULL(a);
    for (int i = 0; i < 2679; i++) {
        ASSERT_NOT_NULL(ag_arena_alloc(a, 100));
    }
    ASSERT(ag_arena_footprint(a) >= 311296);
    ASSERT(ag_arena_footprint(a) <= 311296 + 6 * 64);
    ag_arena_free(a);
}

static void test_cap(void)
{
    const size_t cap = 100 * 1024;
    struct ag_arena *a = ag_arena_new(cap);
    ASSERT_NOT_NULL(a);
    size_t total = 0;
    for (;;) {
        void *p = ag_arena_alloc(a, 1000);
        if (p == NULL) {
            break;
        }
        total += 1000;
        ASSERT(ag_arena_footprint(a) <= cap);
        ASSERT(total <= cap);
    }
    ASSERT_EQ(ag_arena_exhausted(a), 1);
    ASSERT(total > cap / 2); /* the cap is on bytes: most of it is usable */
    ASSERT(ag_arena_footprint(a) <= cap);
    /* A request larger than the whole cap fails at once; a small one may still fit. */
    ASSERT_NULL(ag_arena_alloc(a, cap + 1));
    ASSERT_EQ(ag_arena_exhausted(a), 1);
    ag_arena_free(a);

    /* The exact-size fallback: a block of the next doubling would pass the cap, the request
     * alone does not. */
    a = ag_arena_new(40 * 1024);
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(ag_arena_alloc(a, 1024));       /* first block: 16 KiB */
    ASSERT_NOT_NULL(ag_arena_alloc(a, 20 * 1024));  /* a 32 KiB block would not fit */
    ASSERT(ag_arena_footprint(a) <= 40 * 1024);
    ag_arena_free(a);
}

static void test_huge_requests(void)
{
    /* Requests no system can satisfy fail cleanly instead of wrapping a size computation. */
    const size_t huge[] = {SIZE_MAX, SIZE_MAX - 15, SIZE_MAX - 100, SIZE_MAX / 2 + 1,
                           SIZE_MAX / 2, (size_t)1 << 62};
    struct ag_arena *capped = ag_arena_new(1024 * 1024);
    struct ag_arena *uncapped = ag_arena_new(0);
    ASSERT_NOT_NULL(capped);
    ASSERT_NOT_NULL(uncapped);
    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
        if (ag_arena_alloc(capped, huge[i]) != NULL) {
            AG_TEST_FAIL_("capped arena returned memory for %zu bytes", huge[i]);
        }
        ASSERT_EQ(ag_arena_exhausted(capped), 1);
        if (ag_arena_alloc(uncapped, huge[i]) != NULL) {
            AG_TEST_FAIL_("arena returned memory for %zu bytes", huge[i]);
        }
        ASSERT_EQ(ag_arena_exhausted(uncapped), 0);
        ASSERT(ag_arena_footprint(capped) <= 1024 * 1024);
    }
    /* Both still work afterwards. */
    ASSERT_NOT_NULL(ag_arena_alloc(capped, 64));
    ASSERT_NOT_NULL(ag_arena_alloc(uncapped, 64));
    ag_arena_free(capped);
    ag_arena_free(uncapped);
}

static void test_pb_allocator(void)
{
    struct ag_arena *a = ag_arena_new(0);
    ASSERT_NOT_NULL(a);
    ProtobufCAllocator alloc;
    ag_arena_pb_allocator(a, &alloc);
    ASSERT(alloc.allocator_data == a);
    void *p = alloc.alloc(alloc.allocator_data, 100);
    ASSERT_NOT_NULL(p);
    memset(p, 7, 100);
    alloc.free(alloc.allocator_data, p); /* a no-op: the arena owns it */
    ASSERT(ag_arena_footprint(a) > 0);
    ag_arena_free(a);

    /* Exhaustion through the protobuf-c allocator is visible to the caller. */
    a = ag_arena_new(32 * 1024);
    ASSERT_NOT_NULL(a);
    ag_arena_pb_allocator(a, &alloc);
    ASSERT_NULL(alloc.alloc(alloc.allocator_data, 64 * 1024));
    ASSERT_EQ(ag_arena_exhausted(a), 1);
    ag_arena_free(a);
}

AG_TEST_MAIN(AG_TEST_CASE(test_new_free), AG_TEST_CASE(test_alignment_and_independence),
             AG_TEST_CASE(test_calloc_strndup), AG_TEST_CASE(test_growth),
             AG_TEST_CASE(test_growth_bounded_waste), AG_TEST_CASE(test_cap),
             AG_TEST_CASE(test_huge_requests), AG_TEST_CASE(test_pb_allocator))
