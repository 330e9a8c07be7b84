/* SPDX-License-Identifier: Apache-2.0 */
/* The memory session store: ids, TTL, the capacity bound (LRU eviction), turn and byte bounds. */
#include <string.h>

#include "ag_mem.h"
#include "ag_test.h"
#include "cb_session.h"
#include "config.h"

static void test_create_get_delete(void)
{
    struct cb_session_store *st = cb_session_store_new(10, 1000, 4, 1024);
    struct cb_session *a = NULL, *b = NULL;
    char id[CB_SESSION_ID_LEN + 1];
    ASSERT_NOT_NULL(st);
    ASSERT_OK(cb_session_create(st, 0, &a));
    ASSERT_OK(cb_session_create(st, 0, &b));
    ASSERT(cb_session_id_valid(cb_session_id(a), strlen(cb_session_id(a))));
    ASSERT(strcmp(cb_session_id(a), cb_session_id(b)) != 0);
    ASSERT_EQ(cb_session_count(st), 2);
    ASSERT(cb_session_get(st, cb_session_id(a), 10) == a);
    memcpy(id, cb_session_id(a), sizeof(id));
    ASSERT_OK(cb_session_delete(st, id, 20));
    ASSERT_NULL(cb_session_get(st, id, 20));
    ASSERT_EQ(cb_session_delete(st, id, 20), AG_ENOTFOUND);
    ASSERT_NULL(cb_session_get(st, "not an id", 20));
    ASSERT_NULL(cb_session_get(st, "00000000000000000000000000000000", 20));
    ASSERT_EQ(cb_session_count(st), 1);
    cb_session_store_free(st);
    cb_session_store_free(NULL);
    ASSERT_NULL(cb_session_store_new(0, 1, 1, 1));
}

static void test_ttl(void)
{
    struct cb_session_store *st = cb_session_store_new(10, 1000, 4, 1024);
    struct cb_session *a = NULL, *b = NULL;
    char ida[CB_SESSION_ID_LEN + 1], idb[CB_SESSION_ID_LEN + 1];
    ASSERT_OK(cb_session_create(st, 0, &a));
    ASSERT_OK(cb_session_create(st, 500, &b));
    memcpy(ida, cb_session_id(a), sizeof(ida));
    memcpy(idb, cb_session_id(b), sizeof(idb));
    /* Exactly the TTL after last use is still alive; one ms later it is gone. */
    ASSERT_NOT_NULL(cb_session_get(st, ida, 1000));
    ASSERT_NULL(cb_session_get(st, ida, 2001));
    ASSERT_EQ(cb_session_count(st), 1);
    /* Use keeps a session alive. */
    ASSERT_NOT_NULL(cb_session_get(st, idb, 1400));
    ASSERT_EQ(cb_session_expire(st, 2400), 0);
    ASSERT_EQ(cb_session_expire(st, 2401), 1);
    ASSERT_EQ(cb_session_count(st), 0);
    cb_session_store_free(st);
}

static void test_capacity_evicts_least_recent(void)
{
    struct cb_session_store *st = cb_session_store_new(3, 100000, 4, 1024);
    struct cb_session *s[4];
    char id[4][CB_SESSION_ID_LEN + 1];
    for (int i = 0; i < 3; i++) {
        ASSERT_OK(cb_session_create(st, (uint64_t)i, &s[i]));
        memcpy(id[i], cb_session_id(s[i]), sizeof(id[i]));
    }
    ASSERT_NOT_NULL(cb_session_get(st, id[0], 10)); /* 1 is now the least recent */
    ASSERT_OK(cb_session_create(st, 11, &s[3]));
    ASSERT_EQ(cb_session_count(st), 3);
    ASSERT_NULL(cb_session_get(st, id[1], 12));
    ASSERT_NOT_NULL(cb_session_get(st, id[0], 12));
    ASSERT_NOT_NULL(cb_session_get(st, id[2], 12));
    cb_session_store_free(st);
}

static void test_turn_bounds(void)
{
    struct cb_session_store *st = cb_session_store_new(2, 1000, 3, 10);
    struct cb_session *s = NULL;
    ASSERT_OK(cb_session_create(st, 0, &s));
    ASSERT_OK(cb_session_append(st, s, CB_ROLE_USER, "ab", 2));
    ASSERT_OK(cb_session_append(st, s, CB_ROLE_ASSISTANT, "cd", 2));
    ASSERT_OK(cb_session_append(st, s, CB_ROLE_USER, "ef", 2));
    ASSERT_EQ(cb_session_turn_count(s), 3);
    /* A fourth turn drops the oldest (the ring wraps). */
    ASSERT_OK(cb_session_append(st, s, CB_ROLE_ASSISTANT, "gh", 2));
    ASSERT_EQ(cb_session_turn_count(s), 3);
    ASSERT_STREQ(cb_session_turn(s, 0)->text, "cd");
    ASSERT_STREQ(cb_session_turn(s, 2)->text, "gh");
    ASSERT_EQ(cb_session_turn(s, 2)->role, CB_ROLE_ASSISTANT);
    /* 6 bytes held; 7 more pass 10: the two oldest go. */
    ASSERT_OK(cb_session_append(st, s, CB_ROLE_USER, "1234567", 7));
    ASSERT_EQ(cb_session_turn_count(s), 2);
    ASSERT_STREQ(cb_session_turn(s, 0)->text, "gh");
    ASSERT_STREQ(cb_session_turn(s, 1)->text, "1234567");
    ASSERT_EQ(cb_session_append(st, s, CB_ROLE_USER, "12345678901", 11), AG_ETOOBIG);
    ASSERT_EQ(cb_session_turn_count(s), 2);
    cb_session_store_free(st);
}

static void test_id_valid(void)
{
    ASSERT(cb_session_id_valid("0123456789abcdef0123456789abcdef", 32));
    ASSERT(!cb_session_id_valid("0123456789ABCDEF0123456789abcdef", 32));
    ASSERT(!cb_session_id_valid("0123456789abcdef0123456789abcde", 31));
    ASSERT(!cb_session_id_valid("0123456789abcdef0123456789abcdeg", 32));
    ASSERT(!cb_session_id_valid(NULL, 0));
}

static void test_many_sessions(void)
{
    struct cb_session_store *st = cb_session_store_new(1000, 1000, 4, 1024);
    struct cb_session *s = NULL;
    for (uint64_t i = 0; i < 5000; i++) {
        ASSERT_OK(cb_session_create(st, i, &s));
        ASSERT_OK(cb_session_append(st, s, CB_ROLE_USER, "hello", 5));
    }
    /* Sessions older than 1000 ms expired on the way; the rest fit the bound. */
    ASSERT(cb_session_count(st) <= 1000);
    ASSERT(cb_session_get(st, cb_session_id(s), 5000) == s);
    cb_session_store_free(st);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    for (long n = 1; n < 20; n++) {
        ag_mem_fail_after(n);
        struct cb_session_store *st = cb_session_store_new(4, 1000, 4, 1024);
        struct cb_session *s = NULL;
        int rc = st ? cb_session_create(st, 0, &s) : AG_ENOMEM;
        if (rc == 0) {
            rc = cb_session_append(st, s, CB_ROLE_USER, "hi", 2);
        }
        ag_mem_fail_after(0);
        ASSERT(rc == 0 || rc == AG_ENOMEM);
        cb_session_store_free(st);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_create_get_delete), AG_TEST_CASE(test_ttl),
             AG_TEST_CASE(test_capacity_evicts_least_recent), AG_TEST_CASE(test_turn_bounds),
             AG_TEST_CASE(test_id_valid), AG_TEST_CASE(test_many_sessions),
             AG_TEST_CASE(test_failmalloc))
