/* SPDX-License-Identifier: Apache-2.0 */
/* The DynamoDB wire format of the history store: exact request bodies, answers parsed. */
#include <string.h>

#include "ag_buf.h"
#include "ag_mem.h"
#include "ag_test.h"
#include "cb_ddb.h"
#include "config.h"

#define ID "0123456789abcdef0123456789abcdef"
#define PK "anonymous#" ID

static void test_pk(void)
{
    char pk[128];
    ASSERT_OK(cb_ddb_pk("anonymous", ID, pk, sizeof(pk)));
    ASSERT_STREQ(pk, PK);
    ASSERT_OK(cb_ddb_pk("a.b@c-d_e", ID, pk, sizeof(pk)));
    ASSERT_EQ(cb_ddb_pk("", ID, pk, sizeof(pk)), AG_EINVAL);
    ASSERT_EQ(cb_ddb_pk("a#b", ID, pk, sizeof(pk)), AG_EINVAL); /* '#' would make pk ambiguous */
    ASSERT_EQ(cb_ddb_pk("a b", ID, pk, sizeof(pk)), AG_EINVAL);
    ASSERT_EQ(cb_ddb_pk("u", "0123", pk, sizeof(pk)), AG_EINVAL);
    ASSERT_EQ(cb_ddb_pk("u", ID, pk, 10), AG_EINVAL);
    char user[CB_DDB_USER_MAX + 2];
    memset(user, 'u', sizeof(user) - 1);
    user[sizeof(user) - 1] = '\0'; /* 65 bytes: one over */
    ASSERT_EQ(cb_ddb_pk(user, ID, pk, sizeof(pk)), AG_EINVAL);
    user[CB_DDB_USER_MAX] = '\0';
    ASSERT_OK(cb_ddb_pk(user, ID, pk, sizeof(pk)));
}

static void test_bodies(void)
{
    struct ag_buf b;
    ag_buf_init(&b, 1 << 20);
    ASSERT_OK(cb_ddb_put_body(&b, "t", PK, 7, CB_ROLE_ASSISTANT, "say \"hi\"\n", 9, 1000, 2800));
    ASSERT_STREQ((const char *)ag_buf_ptr(&b),
                 "{\"TableName\":\"t\",\"Item\":{\"session_id\":{\"S\":\"" PK "\"},\"seq\":{\"N\":\"7\"},"
                 "\"role\":{\"S\":\"assistant\"},\"content\":{\"S\":\"say \\\"hi\\\"\\n\"},"
                 "\"created_at\":{\"N\":\"1000\"},\"expires_at\":{\"N\":\"2800\"}},"
                 "\"ConditionExpression\":\"attribute_not_exists(session_id)\"}");
    ASSERT_OK(cb_ddb_query_body(&b, "t", PK, 1234, 40));
    ASSERT_STREQ((const char *)ag_buf_ptr(&b),
                 "{\"TableName\":\"t\",\"KeyConditionExpression\":\"session_id = :pk\","
                 "\"ExpressionAttributeValues\":{\":pk\":{\"S\":\"" PK "\"},"
                 "\":now\":{\"N\":\"1234\"}},\"ConsistentRead\":true,"
                 "\"FilterExpression\":\"#exp > :now\","
                 "\"ExpressionAttributeNames\":{\"#exp\":\"expires_at\"},"
                 "\"ScanIndexForward\":false,\"Limit\":40}");
    ASSERT_OK(cb_ddb_keys_body(&b, "t", PK));
    ASSERT_STREQ((const char *)ag_buf_ptr(&b),
                 "{\"TableName\":\"t\",\"KeyConditionExpression\":\"session_id = :pk\","
                 "\"ExpressionAttributeValues\":{\":pk\":{\"S\":\"" PK "\"}},"
                 "\"ConsistentRead\":true,\"ProjectionExpression\":\"session_id, seq\",\"Limit\":25}");
    uint64_t sks[2] = {3, 4};
    ASSERT_OK(cb_ddb_delete_body(&b, "t", PK, sks, 2));
    ASSERT_STREQ((const char *)ag_buf_ptr(&b),
                 "{\"RequestItems\":{\"t\":["
                 "{\"DeleteRequest\":{\"Key\":{\"session_id\":{\"S\":\"" PK "\"},\"seq\":{\"N\":\"3\"}}}},"
                 "{\"DeleteRequest\":{\"Key\":{\"session_id\":{\"S\":\"" PK "\"},\"seq\":{\"N\":\"4\"}}}}"
                 "]}}");
    uint64_t many[CB_DDB_BATCH_MAX + 1] = {0};
    ASSERT_EQ(cb_ddb_delete_body(&b, "t", PK, many, 0), AG_EINVAL);
    ASSERT_EQ(cb_ddb_delete_body(&b, "t", PK, many, CB_DDB_BATCH_MAX + 1), AG_EINVAL);
    ASSERT_OK(cb_ddb_delete_body(&b, "t", PK, many, CB_DDB_BATCH_MAX));
    ag_buf_cleanup(&b);
}

static void test_parse_turns(void)
{
    /* Newest first on the wire (ScanIndexForward false): sk 5 then 4; returned oldest first. */
    static const char ok[] =
        "{\"Items\":[{\"session_id\":{\"S\":\"x\"},\"seq\":{\"N\":\"5\"},\"role\":{\"S\":\"assistant\"},"
        "\"content\":{\"S\":\"answer \\u00e9\"},\"expires_at\":{\"N\":\"9\"}},"
        "{\"seq\":{\"N\":\"4\"},\"role\":{\"S\":\"user\"},\"content\":{\"S\":\"\"}}],"
        "\"Count\":2,\"ScannedCount\":3}";
    struct cb_ddb_turns t;
    char why[256];
    ASSERT_OK(cb_ddb_parse_turns(ok, sizeof(ok) - 1, &t, why, sizeof(why)));
    ASSERT_EQ(t.n, 2);
    ASSERT_EQ(t.turns[0].role, CB_ROLE_USER);
    ASSERT_EQ(t.turns[0].sk, 4);
    ASSERT_EQ(t.turns[0].len, 0);
    ASSERT_EQ(t.turns[1].role, CB_ROLE_ASSISTANT);
    ASSERT_EQ(t.turns[1].len, 9); /* "answer " 7 + é 2 */
    ASSERT_MEMEQ(t.turns[1].text, "answer \xc3\xa9", 9);
    ASSERT_EQ(t.next_sk, 6);
    ASSERT_EQ(t.more, 0);
    cb_ddb_turns_free(&t);

    static const char empty[] = "{\"Items\":[],\"Count\":0,\"LastEvaluatedKey\":{}}";
    ASSERT_OK(cb_ddb_parse_turns(empty, sizeof(empty) - 1, &t, why, sizeof(why)));
    ASSERT_EQ(t.n, 0);
    ASSERT_EQ(t.next_sk, 0);
    ASSERT_EQ(t.more, 1);
    cb_ddb_turns_free(&t);

    static const struct {
        const char *body, *why;
    } bad[] = {
        {"[]", "not a JSON object"},
        {"{\"Items\":", "not JSON"},
        {"{\"Count\":0}", "no Items array"},
        {"{\"Items\":[1]}", "item 0 is not an object"},
        {"{\"Items\":[{\"seq\":{\"S\":\"1\"},\"role\":{\"S\":\"user\"},\"content\":{\"S\":\"\"}}]}",
         "item 0: seq must be a non-negative integer N"},
        {"{\"Items\":[{\"seq\":{\"N\":\"1.5\"},\"role\":{\"S\":\"user\"},\"content\":{\"S\":\"\"}}]}",
         "item 0: seq must be"},
        {"{\"Items\":[{\"seq\":{\"N\":\"99999999999999999\"},\"role\":{\"S\":\"user\"},"
         "\"content\":{\"S\":\"\"}}]}",
         "item 0: seq must be"},
        {"{\"Items\":[{\"seq\":{\"N\":\"1\"},\"role\":{\"S\":\"bot\"},\"content\":{\"S\":\"\"}}]}",
         "item 0: role must be S \"user\" or \"assistant\""},
        {"{\"Items\":[{\"seq\":{\"N\":\"1\"},\"role\":{\"S\":\"user\"},\"content\":{\"N\":\"1\"}}]}",
         "item 0: content must be a string (S)"},
        {"{\"Items\":[{\"seq\":{\"N\":\"1\"},\"role\":{\"S\":\"user\"},"
         "\"content\":{\"S\":\"a\",\"N\":\"1\"}}]}",
         "item 0: content must be a string (S)"},
        {"{\"Items\":[{\"seq\":{\"N\":\"1\"},\"role\":{\"S\":\"user\"},\"content\":{\"S\":\"a\"}},"
         "{\"seq\":{\"N\":\"1\"},\"role\":{\"S\":\"user\"},\"content\":{\"S\":\"b\"}}]}",
         "item 1: seq is not below the previous item's"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        ASSERT_EQ(cb_ddb_parse_turns(bad[i].body, strlen(bad[i].body), &t, why, sizeof(why)),
                  AG_EPROTO);
        ASSERT_STRCONTAINS(why, bad[i].why);
        cb_ddb_turns_free(&t);
    }
}

static void test_parse_keys_and_unprocessed(void)
{
    static const char page[] =
        "{\"Items\":[{\"session_id\":{\"S\":\"p\"},\"seq\":{\"N\":\"0\"}},{\"session_id\":{\"S\":\"p\"},"
        "\"seq\":{\"N\":\"7\"}}],\"LastEvaluatedKey\":{\"session_id\":{\"S\":\"p\"},\"seq\":{\"N\":\"7\"}}}";
    uint64_t sks[2], last = 0;
    size_t n = 0;
    int more = 0;
    char why[256];
    ASSERT_OK(cb_ddb_parse_keys(page, sizeof(page) - 1, sks, 2, &n, &more, &last, why,
                                sizeof(why)));
    ASSERT_EQ(n, 2);
    ASSERT_EQ(sks[0], 0);
    ASSERT_EQ(sks[1], 7);
    ASSERT_EQ(more, 1);
    ASSERT_EQ(last, 7);
    ASSERT_EQ(cb_ddb_parse_keys(page, sizeof(page) - 1, sks, 1, &n, &more, &last, why,
                                sizeof(why)),
              AG_ETOOBIG);
    static const char nokey[] = "{\"Items\":[{\"session_id\":{\"S\":\"p\"}}]}";
    ASSERT_EQ(cb_ddb_parse_keys(nokey, sizeof(nokey) - 1, sks, 2, &n, &more, &last, why,
                                sizeof(why)),
              AG_EPROTO);
    ASSERT_STRCONTAINS(why, "item 0: seq must be");

    static const char none[] = "{\"UnprocessedItems\":{}}";
    static const char three[] =
        "{\"UnprocessedItems\":{\"t\":[{\"DeleteRequest\":{}},{\"DeleteRequest\":{}}],"
        "\"u\":[{\"DeleteRequest\":{}}]}}";
    ASSERT_EQ(cb_ddb_unprocessed(none, sizeof(none) - 1), 0);
    ASSERT_EQ(cb_ddb_unprocessed("{}", 2), 0);
    ASSERT_EQ(cb_ddb_unprocessed(three, sizeof(three) - 1), 3);
    ASSERT_EQ(cb_ddb_unprocessed("nope", 4), AG_EPROTO);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    static const char ok[] =
        "{\"Items\":[{\"seq\":{\"N\":\"1\"},\"role\":{\"S\":\"assistant\"},\"content\":{\"S\":\"b\"}},"
        "{\"seq\":{\"N\":\"0\"},\"role\":{\"S\":\"user\"},\"content\":{\"S\":\"a\"}}]}";
    for (long n = 1; n < 40; n++) {
        struct cb_ddb_turns t;
        struct ag_buf b;
        char why[128];
        ag_mem_fail_after(n);
        int rc = cb_ddb_parse_turns(ok, sizeof(ok) - 1, &t, why, sizeof(why));
        ag_buf_init(&b, 4096);
        int rc2 = cb_ddb_put_body(&b, "t", PK, 1, CB_ROLE_USER, "x", 1, 1, 2);
        ag_mem_fail_after(0);
        /* jansson's own allocations are not counted: a failure shows as ENOMEM or EPROTO. */
        ASSERT(rc == 0 || rc == AG_ENOMEM || rc == AG_EPROTO);
        ASSERT(rc != 0 || t.n == 2);
        ASSERT(rc2 == 0 || rc2 == AG_ENOMEM);
        cb_ddb_turns_free(&t);
        ag_buf_cleanup(&b);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_pk), AG_TEST_CASE(test_bodies), AG_TEST_CASE(test_parse_turns),
             AG_TEST_CASE(test_parse_keys_and_unprocessed), AG_TEST_CASE(test_failmalloc))
