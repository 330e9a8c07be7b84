/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bedrock provider's pure parts: the wire path of model ids and inference-profile ARNs (and
 * its SigV4 canonical form, double-encoded as specs/aws.md §2.2 shows), the token estimate, and
 * the Converse request body with the history trimmed to its budget.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_buf.h"
#include "ag_mem.h"
#include "config.h"
#include "ag_test.h"
#include "cb_bedrock.h"
#include "ex_aws_sigv4.h"
#include <zlib.h>

static void expect_path(const char *model, const char *op, const char *want, const char *canon)
{
    struct ag_buf b, c;
    ag_buf_init(&b, 8192);
    ag_buf_init(&c, 8192);
    ASSERT_OK(cb_bedrock_path(&b, model, op));
    ASSERT_STREQ(ag_buf_str(&b), want);
    ASSERT_OK(ex_aws_sigv4_canonical_uri(ag_buf_str(&b), b.len,
                                         ex_aws_sigv4_service_flags("bedrock"), &c));
    ASSERT_STREQ(ag_buf_str(&c), canon);
    ag_buf_cleanup(&b);
    ag_buf_cleanup(&c);
}

static void test_path(void)
{
    /* The spec's example (specs/aws.md §2.2). */
    expect_path("anthropic.claude-3-haiku-20240307-v1:0", "converse",
                "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
                "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse");
    /* An inference-profile ARN: ':' and '/' encoded on the wire, then again when signing. */
    expect_path("arn:aws:bedrock:us-east-1:000000000000:inference-profile/us.amazon.nova-lite-v1:0",
                "converse-stream",
                "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A000000000000%3Ainference-profile%2Fus."
                "amazon.nova-lite-v1%3A0/converse-stream",
                "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A000000000000%253Ainference-"
                "profile%252Fus.amazon.nova-lite-v1%253A0/converse-stream");
    expect_path("a b~_", "converse", "/model/a%20b~_/converse", "/model/a%2520b~_/converse");
    struct ag_buf b;
    ag_buf_init(&b, 8192);
    ASSERT_EQ(cb_bedrock_path(&b, "", "converse"), AG_EINVAL);
    ASSERT_EQ(cb_bedrock_path(&b, NULL, "converse"), AG_EINVAL);
    char big[CB_BEDROCK_MAX_MODEL_ID + 2];
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ASSERT_EQ(cb_bedrock_path(&b, big, "converse"), AG_EINVAL);
    ag_buf_cleanup(&b);
}

static void test_estimate(void)
{
    ASSERT_EQ(cb_bedrock_estimate_tokens(0), 0);
    ASSERT_EQ(cb_bedrock_estimate_tokens(1), 1);
    ASSERT_EQ(cb_bedrock_estimate_tokens(4), 1);
    ASSERT_EQ(cb_bedrock_estimate_tokens(5), 2);
    ASSERT_EQ(cb_bedrock_estimate_tokens(4000), 1000);
}

static void body_into(const struct cb_bedrock_config *cfg, const struct cb_ask *ask, json_t **out)
{
    struct ag_buf b;
    ag_buf_init(&b, 1 << 20);
    ASSERT_OK(cb_bedrock_request_body(&b, cfg, ask));
    json_error_t e;
    json_t *doc = json_loadb((const char *)ag_buf_ptr(&b), b.len, JSON_REJECT_DUPLICATES, &e);
    ag_buf_cleanup(&b);
    *out = doc;
}

static json_t *body_of(const struct cb_bedrock_config *cfg, const struct cb_ask *ask)
{
    json_t *doc = NULL;
    body_into(cfg, ask, &doc);
    if (doc == NULL) {
        fprintf(stderr, "the request body is not JSON\n");
        abort();
    }
    return doc;
}

/* Checks doc.messages against |want|: role letters ('u'/'a') and texts. */
static void expect_messages(json_t *doc, const char *roles, const char *const *texts)
{
    json_t *msgs = json_object_get(doc, "messages");
    ASSERT_EQ(json_array_size(msgs), strlen(roles));
    for (size_t i = 0; i < strlen(roles); i++) {
        json_t *m = json_array_get(msgs, i);
        ASSERT_EQ(json_object_size(m), 2);
        ASSERT_STREQ(json_string_value(json_object_get(m, "role")),
                     roles[i] == 'u' ? "user" : "assistant");
        json_t *content = json_object_get(m, "content");
        ASSERT_EQ(json_array_size(content), 1);
        ASSERT_EQ(json_object_size(json_array_get(content, 0)), 1);
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(content, 0), "text")),
                     texts[i]);
    }
}

#define T(r, s) {(r), (char *)(s), sizeof(s) - 1}

static void test_body(void)
{
    struct cb_bedrock_config cfg;
    cb_bedrock_config_defaults(&cfg);
    /* Estimated tokens (ceil(bytes / 4)): pair 1 = 1 + 2 = 3, pair 2 = 1 + 2 = 3, pair 3 =
     * 1 + 1 = 2. */
    struct cb_turn hist[] = {
        T(CB_ROLE_USER, "aaaa"), T(CB_ROLE_ASSISTANT, "bbbbbbbb"),
        T(CB_ROLE_USER, "c"),    T(CB_ROLE_ASSISTANT, "ddddd"),
        T(CB_ROLE_USER, "eeee"), T(CB_ROLE_ASSISTANT, "ff"),
    };
    struct cb_ask ask = {.message = "new \"q\"\n", .message_len = 8, .history = hist,
                         .n_history = 6};
    /* Budget 5: pair 3 (2), pair 2 (2 + 3 = 5 <= 5), pair 1 would make 8. */
    cfg.history_tokens = 5;
    cfg.system_prompt = "You answer questions about Otter.";
    cfg.max_tokens = 200;
    cfg.temperature = 0.5;
    json_t *doc = body_of(&cfg, &ask);
    static const char *const t5[] = {"c", "ddddd", "eeee", "ff", "new \"q\"\n"};
    expect_messages(doc, "uauau", t5);
    json_t *sys = json_object_get(doc, "system");
    ASSERT_EQ(json_array_size(sys), 1);
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(sys, 0), "text")),
                 "You answer questions about Otter.");
    json_t *ic = json_object_get(doc, "inferenceConfig");
    ASSERT_EQ(json_object_size(ic), 2); /* topP not set: not sent */
    ASSERT_EQ(json_integer_value(json_object_get(ic, "maxTokens")), 200);
    ASSERT(json_real_value(json_object_get(ic, "temperature")) == 0.5);
    ASSERT_EQ(json_object_size(doc), 3);
    json_decref(doc);

    /* Budget 4: pair 3 only (2; with pair 2 it would be 5). */
    cfg.history_tokens = 4;
    cfg.system_prompt = NULL;
    cfg.max_tokens = 0;
    cfg.temperature = -1;
    cfg.top_p = 0.9;
    doc = body_of(&cfg, &ask);
    static const char *const t4[] = {"eeee", "ff", "new \"q\"\n"};
    expect_messages(doc, "uau", t4);
    ASSERT_NULL(json_object_get(doc, "system"));
    ic = json_object_get(doc, "inferenceConfig");
    ASSERT_EQ(json_object_size(ic), 1);
    ASSERT(json_real_value(json_object_get(ic, "topP")) == 0.9);
    json_decref(doc);

    /* Budget 0: only the new message; nothing else configured: no inferenceConfig. */
    cfg.history_tokens = 0;
    cfg.top_p = -1;
    doc = body_of(&cfg, &ask);
    static const char *const t0[] = {"new \"q\"\n"};
    expect_messages(doc, "u", t0);
    ASSERT_EQ(json_object_size(doc), 1);
    json_decref(doc);

    /* A stray assistant turn first (its user turn was dropped by the store) is left out. */
    struct cb_turn stray[] = {T(CB_ROLE_ASSISTANT, "x"), T(CB_ROLE_USER, "u"),
                              T(CB_ROLE_ASSISTANT, "a")};
    struct cb_ask ask2 = {.message = "m", .message_len = 1, .history = stray, .n_history = 3};
    cfg.history_tokens = 1000;
    doc = body_of(&cfg, &ask2);
    static const char *const ts[] = {"u", "a", "m"};
    expect_messages(doc, "uau", ts);
    json_decref(doc);
}

static void test_read_converse(void)
{
    static const char ok[] =
        "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"Hi\"},"
        "{\"image\":{}},{\"text\":\" there\"}]}},\"stopReason\":\"max_tokens\","
        "\"usage\":{\"inputTokens\":12,\"outputTokens\":5,\"totalTokens\":17},\"p\":\"x\"}";
    struct cb_bedrock_answer a;
    cb_bedrock_answer_init(&a);
    ASSERT_OK(cb_bedrock_read_converse(&a, (const uint8_t *)ok, sizeof(ok) - 1));
    ASSERT_STREQ(ag_buf_str(&a.text), "Hi there");
    ASSERT_STREQ(a.stop_reason, "max_tokens");
    ASSERT_EQ(a.input_tokens, 12);
    ASSERT_EQ(a.output_tokens, 5);
    cb_bedrock_answer_cleanup(&a);
    static const char *const bad[] = {"", "{", "[]", "{\"output\":{}}",
                                      "{\"output\":{\"message\":{\"content\":{}}}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cb_bedrock_answer_init(&a);
        ASSERT_EQ(cb_bedrock_read_converse(&a, (const uint8_t *)bad[i], strlen(bad[i])),
                  AG_EPROTO);
        cb_bedrock_answer_cleanup(&a);
    }
}

/* Builds one event-stream frame with string headers (name, value pairs) into |out|. */
static size_t frame(uint8_t *out, const char *const *hdrs, size_t n_hdrs, const char *payload)
{
    size_t h = 12;
    for (size_t i = 0; i < n_hdrs; i++) {
        size_t nl = strlen(hdrs[2 * i]), vl = strlen(hdrs[2 * i + 1]);
        out[h++] = (uint8_t)nl;
        memcpy(out + h, hdrs[2 * i], nl);
        h += nl;
        out[h++] = 7;
        out[h++] = (uint8_t)(vl >> 8);
        out[h++] = (uint8_t)vl;
        memcpy(out + h, hdrs[2 * i + 1], vl);
        h += vl;
    }
    size_t pl = strlen(payload), total = h + pl + 4;
    uint32_t hl = (uint32_t)(h - 12);
    uint8_t pre[8] = {(uint8_t)(total >> 24), (uint8_t)(total >> 16), (uint8_t)(total >> 8),
                      (uint8_t)total,         (uint8_t)(hl >> 24),    (uint8_t)(hl >> 16),
                      (uint8_t)(hl >> 8),     (uint8_t)hl};
    memcpy(out, pre, 8);
    uint32_t c = (uint32_t)crc32(0, out, 8);
    out[8] = (uint8_t)(c >> 24);
    out[9] = (uint8_t)(c >> 16);
    out[10] = (uint8_t)(c >> 8);
    out[11] = (uint8_t)c;
    memcpy(out + h, payload, pl);
    c = (uint32_t)crc32(0, out, (uInt)(h + pl));
    out[h + pl] = (uint8_t)(c >> 24);
    out[h + pl + 1] = (uint8_t)(c >> 16);
    out[h + pl + 2] = (uint8_t)(c >> 8);
    out[h + pl + 3] = (uint8_t)c;
    return total;
}

static int read_event(struct cb_bedrock_answer *a, const char *const *hdrs, size_t n,
                      const char *payload, size_t *added)
{
    uint8_t buf[1024];
    struct cb_es_message m;
    size_t len = frame(buf, hdrs, n, payload);
    if (cb_es_message_decode(buf, len, 0, &m, NULL) != 0) {
        return -100;
    }
    return cb_bedrock_read_event(a, &m, added);
}

static void test_read_events(void)
{
    struct cb_bedrock_answer a;
    size_t added = 9;
    cb_bedrock_answer_init(&a);
    static const char *const delta[] = {":event-type", "contentBlockDelta", ":content-type",
                                        "application/json", ":message-type", "event"};
    ASSERT_OK(read_event(&a, delta, 3,
                         "{\"delta\":{\"text\":\"d\u00e9j\"},\"contentBlockIndex\":0,\"p\":\"ab\"}",
                         &added));
    ASSERT_EQ(added, 4); /* "d", two bytes of U+00E9, "j" */
    ASSERT_OK(read_event(&a, delta, 3, "{\"delta\":{\"toolUse\":{\"input\":\"{}\"}}}", &added));
    ASSERT_EQ(added, 0);
    ASSERT_STREQ(ag_buf_str(&a.text), "d\xc3\xa9j");
    static const char *const stop[] = {":event-type", "messageStop", ":message-type", "event"};
    ASSERT_OK(read_event(&a, stop, 2, "{\"stopReason\":\"end_turn\"}", &added));
    ASSERT_STREQ(a.stop_reason, "end_turn");
    static const char *const meta[] = {":event-type", "metadata", ":message-type", "event"};
    ASSERT_OK(read_event(&a, meta, 2,
                         "{\"usage\":{\"inputTokens\":7,\"outputTokens\":3},\"metrics\":{}}",
                         &added));
    ASSERT_EQ(a.input_tokens, 7);
    ASSERT_EQ(a.output_tokens, 3);
    static const char *const unknown[] = {":event-type", "somethingNew", ":message-type", "event"};
    ASSERT_OK(read_event(&a, unknown, 2, "{}", &added));
    ASSERT_EQ(read_event(&a, unknown, 2, "[1]", &added), AG_EPROTO);
    static const char *const no_type[] = {":message-type", "event"};
    ASSERT_EQ(read_event(&a, no_type, 1, "{}", &added), AG_EPROTO);
    ASSERT_EQ(read_event(&a, delta, 1, "{}", &added), AG_EPROTO); /* no :message-type */
    ASSERT_STREQ(a.exception, "");
    static const char *const exc[] = {":exception-type", "throttlingException", ":message-type",
                                      "exception"};
    ASSERT_EQ(read_event(&a, exc, 2, "{\"message\":\"Too many tokens, id 1234\"}", &added),
              AG_EUPSTREAM);
    ASSERT_STREQ(a.exception, "throttlingException");
    static const char *const err[] = {":error-code", "InternalFailure", ":message-type", "error"};
    ASSERT_EQ(read_event(&a, err, 2, "", &added), AG_EUPSTREAM);
    ASSERT_STREQ(a.exception, "InternalFailure");
    ASSERT_STREQ(ag_buf_str(&a.text), "d\xc3\xa9j");
    cb_bedrock_answer_cleanup(&a);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    struct cb_bedrock_config cfg;
    cb_bedrock_config_defaults(&cfg);
    cfg.system_prompt = "prompt";
    struct cb_turn hist[] = {T(CB_ROLE_USER, "q1"), T(CB_ROLE_ASSISTANT, "a1")};
    struct cb_ask ask = {.message = "q2", .message_len = 2, .history = hist, .n_history = 2};
    int built = 0;
    for (long n = 0; n < 1000 && !built; n++) {
        struct ag_buf b, p;
        ag_buf_init(&b, 1 << 20);
        ag_buf_init(&p, 1 << 20);
        ag_mem_fail_after(n);
        int rc = cb_bedrock_request_body(&b, &cfg, &ask);
        if (rc == 0) {
            rc = cb_bedrock_path(&p, "m:1", "converse");
        }
        ag_mem_fail_after(-1);
        ASSERT(rc == 0 || rc == AG_ENOMEM);
        built = rc == 0;
        ag_buf_cleanup(&b);
        ag_buf_cleanup(&p);
    }
    ASSERT(built);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_path), AG_TEST_CASE(test_estimate), AG_TEST_CASE(test_body),
             AG_TEST_CASE(test_read_converse), AG_TEST_CASE(test_read_events),
             AG_TEST_CASE(test_failmalloc))
