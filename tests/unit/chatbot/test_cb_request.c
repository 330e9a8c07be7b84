/* SPDX-License-Identifier: Apache-2.0 */
/* Chat request validation: each refusal names its field. */
#include <string.h>

#include "ag_test.h"
#include "cb_request.h"

static int parse(const char *body, struct cb_chat_request *r, struct cb_request_error *e)
{
    return cb_chat_request_parse(body, strlen(body), 10, r, e);
}

static void test_valid(void)
{
    struct cb_chat_request r;
    struct cb_request_error e;
    ASSERT_OK(parse("{\"message\":\"hi \\u00e9\"}", &r, &e));
    ASSERT_STREQ(r.message, "hi \xc3\xa9");
    ASSERT_EQ(r.message_len, 5);
    ASSERT_STREQ(r.session_id, "");
    cb_chat_request_cleanup(&r);
    ASSERT_OK(parse("{\"session_id\":\"0123456789abcdef0123456789abcdef\",\"message\":\"x\"}",
                    &r, &e));
    ASSERT_STREQ(r.session_id, "0123456789abcdef0123456789abcdef");
    cb_chat_request_cleanup(&r);
    ASSERT_OK(parse("{\"session_id\":null,\"message\":\"0123456789\"}", &r, &e));
    ASSERT_EQ(r.message_len, 10);
    cb_chat_request_cleanup(&r);
}

static void expect(const char *body, const char *code, const char *field, const char *msg_part)
{
    struct cb_chat_request r;
    struct cb_request_error e;
    ASSERT_EQ(parse(body, &r, &e), AG_EPROTO);
    ASSERT_NULL(r.message);
    ASSERT_STREQ(e.code, code);
    ASSERT_STREQ(e.field, field);
    ASSERT_STRCONTAINS(e.message, msg_part);
}

static void test_invalid(void)
{
    expect("", "invalid_json", "", "not valid JSON");
    expect("{\"message\":", "invalid_json", "", "not valid JSON");
    expect("{\"message\":\"a\",\"message\":\"b\"}", "invalid_json", "", "duplicate");
    expect("{\"message\":\"a\\u0000b\"}", "invalid_json", "", "not valid JSON");
    expect("{\"message\":\"\xff\"}", "invalid_json", "", "not valid JSON");
    expect("[1]", "invalid_request", "", "JSON object");
    expect("7", "invalid_request", "", "JSON object");
    expect("{}", "invalid_request", "message", "required");
    expect("{\"message\":[]}", "invalid_request", "message", "string");
    expect("{\"message\":\" \\n\"}", "invalid_request", "message", "empty");
    expect("{\"message\":\"01234567890\"}", "invalid_request", "message", "longer than 10 bytes");
    expect("{\"message\":\"x\",\"extra\":1}", "invalid_request", "extra", "unknown field");
    expect("{\"message\":\"x\",\"session_id\":\"\"}", "invalid_request", "session_id", "32 hex");
    expect("{\"message\":\"x\",\"session_id\":true}", "invalid_request", "session_id", "32 hex");
}

AG_TEST_MAIN(AG_TEST_CASE(test_valid), AG_TEST_CASE(test_invalid))
