/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of ag_buf, the capped growable buffer (curl's dynbuf model): appends of every kind,
 * the cap (reaching it is fine, passing it frees the buffer and returns AG_ETOOBIG), printf,
 * reserve/commit, reset, steal, consume_front, truncate, and allocation failure when built with
 * failmalloc.
 */
#include "ag_buf.h"
#include "ag_mem.h"
#include "ag_test.h"
#include "config.h"

#include <stdint.h>
#include <string.h>

static void test_empty(void)
{
    struct ag_buf b;
    ag_buf_init(&b, 100);
    ASSERT_NULL(ag_buf_ptr(&b));
    ASSERT_STREQ(ag_buf_str(&b), "");
    ASSERT_UEQ(b.len, 0);
    size_t len = 99;
    ASSERT_NULL(ag_buf_steal(&b, &len));
    ASSERT_UEQ(len, 0);
    ag_buf_cleanup(&b);
    ag_buf_cleanup(&b); /* twice is harmless */
}

static void test_appends(void)
{
    struct ag_buf b;
    ag_buf_init(&b, 1024);
    ASSERT_OK(ag_buf_add(&b, "abc", 3));
    ASSERT_OK(ag_buf_adds(&b, "def"));
    ASSERT_OK(ag_buf_addc(&b, 'g'));
    ASSERT_OK(ag_buf_add(&b, NULL, 0));
    ASSERT_OK(ag_buf_add(&b, "\0x", 2)); /* binary data, embedded NUL */
    ASSERT_UEQ(b.len, 9);
    ASSERT_MEMEQ(ag_buf_ptr(&b), "abcdefg\0x", 9);
    ASSERT_EQ(ag_buf_ptr(&b)[9], 0); /* always NUL-terminated */
    ag_buf_cleanup(&b);
    ASSERT_NULL(ag_buf_ptr(&b));
    ASSERT_UEQ(b.len, 0);
    ASSERT_UEQ(b.cap, 1024); /* reusable with the same cap */
    ASSERT_OK(ag_buf_adds(&b, "again"));
    ASSERT_STREQ(ag_buf_str(&b), "again");
    ag_buf_cleanup(&b);
}

static void test_growth(void)
{
    struct ag_buf b;
    ag_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < (1 << 20); i++) {
        if (ag_buf_addc(&b, (char)('a' + i % 26)) != 0) {
            AG_TEST_FAIL_("addc failed at %zu", i);
        }
    }
    ASSERT_UEQ(b.len, 1 << 20);
    ASSERT(b.alloc <= (1 << 20) + 1); /* never allocates past cap + NUL */
    for (size_t i = 0; i < (1 << 20); i++) {
        if (ag_buf_ptr(&b)[i] != (uint8_t)('a' + i % 26)) {
            AG_TEST_FAIL_("byte %zu wrong", i);
        }
    }
    ag_buf_cleanup(&b);
}

static void test_cap(void)
{
    struct ag_buf b;
    ag_buf_init(&b, 10);
    ASSERT_OK(ag_buf_adds(&b, "12345"));
    ASSERT_OK(ag_buf_adds(&b, "67890")); /* exactly the cap */
    ASSERT_UEQ(b.len, 10);
    ASSERT_STREQ(ag_buf_str(&b), "1234567890");
    ASSERT(b.alloc <= 11);
    /* One byte more, by each kind of append: AG_ETOOBIG, and the buffer is freed. */
    ASSERT_EQ(ag_buf_addc(&b, 'x'), AG_ETOOBIG);
    ASSERT_NULL(ag_buf_ptr(&b));
    ASSERT_UEQ(b.len, 0);
    ASSERT_STREQ(ag_buf_str(&b), "");

    ASSERT_OK(ag_buf_adds(&b, "123456789"));
    ASSERT_EQ(ag_buf_add(&b, "ab", 2), AG_ETOOBIG);
    ASSERT_NULL(ag_buf_ptr(&b));

    ASSERT_EQ(ag_buf_adds(&b, "12345678901"), AG_ETOOBIG);
    ASSERT_NULL(ag_buf_ptr(&b));
    ASSERT_EQ(ag_buf_add(&b, "x", SIZE_MAX), AG_ETOOBIG); /* no length arithmetic wraps */
    ASSERT_OK(ag_buf_adds(&b, "1"));
    ASSERT_EQ(ag_buf_add(&b, "x", SIZE_MAX), AG_ETOOBIG);
    ASSERT_NULL(ag_buf_ptr(&b));
    ASSERT_NULL(ag_buf_reserve(&b, 11));
    ag_buf_cleanup(&b);

    /* Cap 0: nothing fits, not even one byte. */
    ag_buf_init(&b, 0);
    ASSERT_EQ(ag_buf_addc(&b, 'x'), AG_ETOOBIG);
    ASSERT_OK(ag_buf_add(&b, "", 0));
    ASSERT_STREQ(ag_buf_str(&b), "");
    ag_buf_cleanup(&b);
}

static void test_huge_cap(void)
{
    /* SIZE_MAX as a cap means "no practical limit"; the size arithmetic must not wrap. */
    struct ag_buf b;
    ag_buf_init(&b, SIZE_MAX);
    ASSERT_OK(ag_buf_adds(&b, "hello"));
    ASSERT_OK(ag_buf_printf(&b, " %d", 42));
    ASSERT_STREQ(ag_buf_str(&b), "hello 42");
    ASSERT(b.alloc >= b.len + 1);
    /* A request no system can satisfy fails (and frees) instead of corrupting memory. */
    int rc = ag_buf_add(&b, "x", SIZE_MAX - 2);
    ASSERT(rc == AG_ENOMEM || rc == AG_ETOOBIG);
    ASSERT_NULL(ag_buf_ptr(&b));
    ASSERT_NULL(ag_buf_reserve(&b, SIZE_MAX / 2 + 10));
    ag_buf_cleanup(&b);
}

static void test_printf(void)
{
    struct ag_buf b;
    ag_buf_init(&b, 4096);
    ASSERT_OK(ag_buf_printf(&b, "%s=%d", "a", 1));
    ASSERT_OK(ag_buf_printf(&b, ",%s=%.2f", "b", 2.5));
    ASSERT_OK(ag_buf_printf(&b, "%s", ""));
    ASSERT_STREQ(ag_buf_str(&b), "a=1,b=2.50");
    /* Longer than the first allocation: vsnprintf runs twice with the same arguments. */
    ASSERT_OK(ag_buf_printf(&b, "|%0*d|%s", 300, 7, "tail"));
    ASSERT_UEQ(b.len, 10 + 1 + 300 + 1 + 4);
    ASSERT_STRCONTAINS(ag_buf_str(&b), "0007|tail");
    ag_buf_cleanup(&b);

    /* Exactly up to the cap, then one past it. */
    ag_buf_init(&b, 8);
    ASSERT_OK(ag_buf_printf(&b, "%04d", 12));
    ASSERT_OK(ag_buf_printf(&b, "%s", "abcd"));
    ASSERT_STREQ(ag_buf_str(&b), "0012abcd");
    ASSERT_EQ(ag_buf_printf(&b, "%c", 'z'), AG_ETOOBIG);
    ASSERT_NULL(ag_buf_ptr(&b));
    ASSERT_EQ(ag_buf_printf(&b, "%9d", 1), AG_ETOOBIG);
    ASSERT_NULL(ag_buf_ptr(&b));
    ag_buf_cleanup(&b);
}

static void test_reserve_commit_reset(void)
{
    struct ag_buf b;
    ag_buf_init(&b, 100);
    uint8_t *p = ag_buf_reserve(&b, 50);
    ASSERT_NOT_NULL(p);
    memcpy(p, "0123456789", 10);
    ag_buf_commit(&b, 10); /* use less than reserved */
    ASSERT_UEQ(b.len, 10);
    ASSERT_STREQ(ag_buf_str(&b), "0123456789");
    p = ag_buf_reserve(&b, 90); /* exactly what the cap leaves */
    ASSERT_NOT_NULL(p);
    memset(p, 'x', 90);
    ag_buf_commit(&b, 90);
    ASSERT_UEQ(b.len, 100);
    ASSERT_EQ(ag_buf_ptr(&b)[100], 0);

    size_t alloc = b.alloc;
    ag_buf_reset(&b);
    ASSERT_UEQ(b.len, 0);
    ASSERT_UEQ(b.alloc, alloc); /* keeps the allocation */
    ASSERT_STREQ(ag_buf_str(&b), "");
    ASSERT_OK(ag_buf_adds(&b, "new"));
    ASSERT_STREQ(ag_buf_str(&b), "new");
    ASSERT_NULL(ag_buf_reserve(&b, 98)); /* past the cap: freed */
    ASSERT_NULL(ag_buf_ptr(&b));
    ag_buf_reset(&b); /* on an empty buffer too */
    ag_buf_cleanup(&b);
}

static void test_steal(void)
{
    struct ag_buf b;
    ag_buf_init(&b, 64);
    ASSERT_OK(ag_buf_adds(&b, "payload"));
    size_t len = 0;
    uint8_t *p = ag_buf_steal(&b, &len);
    ASSERT_NOT_NULL(p);
    ASSERT_UEQ(len, 7);
    ASSERT_STREQ((char *)p, "payload"); /* NUL-terminated */
    ASSERT_NULL(ag_buf_ptr(&b));
    ASSERT_UEQ(b.len, 0);
    ASSERT_UEQ(b.alloc, 0);
    /* The buffer is reusable, and the stolen bytes are independent of it. */
    ASSERT_OK(ag_buf_adds(&b, "next"));
    ASSERT_STREQ(ag_buf_str(&b), "next");
    ASSERT_STREQ((char *)p, "payload");
    ag_free(p);
    p = ag_buf_steal(&b, NULL);
    ASSERT_STREQ((char *)p, "next");
    ag_free(p);
    ag_buf_cleanup(&b);
}

static void test_consume_front(void)
{
    struct ag_buf b;
    ag_buf_init(&b, 64);
    ASSERT_OK(ag_buf_adds(&b, "line1\nline2\n"));
    ag_buf_consume_front(&b, 6);
    ASSERT_UEQ(b.len, 6);
    ASSERT_STREQ(ag_buf_str(&b), "line2\n");
    ag_buf_consume_front(&b, 0);
    ASSERT_STREQ(ag_buf_str(&b), "line2\n");
    ag_buf_consume_front(&b, 100); /* more than there is: empties it */
    ASSERT_UEQ(b.len, 0);
    ASSERT_STREQ(ag_buf_str(&b), "");
    ASSERT_OK(ag_buf_adds(&b, "x"));
    ASSERT_STREQ(ag_buf_str(&b), "x");
    ag_buf_cleanup(&b);
    ag_buf_consume_front(&b, 1); /* on a freed buffer */
    ASSERT_UEQ(b.len, 0);
}

static void test_truncate(void)
{
    struct ag_buf b;
    ag_buf_init(&b, 64);
    ag_buf_truncate(&b, 0); /* on an empty buffer */
    ASSERT_UEQ(b.len, 0);
    ASSERT_OK(ag_buf_adds(&b, "abcdef"));
    ag_buf_truncate(&b, 10); /* longer than it is: unchanged */
    ASSERT_STREQ(ag_buf_str(&b), "abcdef");
    ag_buf_truncate(&b, 3);
    ASSERT_UEQ(b.len, 3);
    ASSERT_STREQ(ag_buf_str(&b), "abc"); /* still NUL-terminated */
    size_t alloc = b.alloc;
    ag_buf_truncate(&b, 0);
    ASSERT_UEQ(b.alloc, alloc); /* the allocation stays */
    ASSERT_OK(ag_buf_adds(&b, "xy"));
    ASSERT_STREQ(ag_buf_str(&b), "xy");
    ag_buf_cleanup(&b);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    struct ag_buf b;
    ag_buf_init(&b, 1 << 20);
    ASSERT_OK(ag_buf_adds(&b, "x"));
    ag_mem_fail_after(0);
    char big[200];
    memset(big, 'y', sizeof(big));
    int rc = ag_buf_add(&b, big, sizeof(big)); /* must grow: the allocation fails */
    ag_mem_fail_after(-1);
    ASSERT_EQ(rc, AG_ENOMEM);
    ASSERT_NULL(ag_buf_ptr(&b)); /* a failed append frees the buffer */
    ag_mem_fail_after(0);
    rc = ag_buf_printf(&b, "%s", "z");
    ag_mem_fail_after(-1);
    ASSERT_EQ(rc, AG_ENOMEM);
    ASSERT_NULL(ag_buf_ptr(&b));
    ag_buf_cleanup(&b);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true): allocation failures not injected\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_empty), AG_TEST_CASE(test_appends), AG_TEST_CASE(test_growth),
             AG_TEST_CASE(test_cap), AG_TEST_CASE(test_huge_cap), AG_TEST_CASE(test_printf),
             AG_TEST_CASE(test_reserve_commit_reset), AG_TEST_CASE(test_steal),
             AG_TEST_CASE(test_consume_front), AG_TEST_CASE(test_truncate),
             AG_TEST_CASE(test_failmalloc))
