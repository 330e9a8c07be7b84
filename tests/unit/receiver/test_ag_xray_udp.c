/* SPDX-License-Identifier: Apache-2.0 */
/*
 * X-Ray daemon datagrams: the header, the required fields of segments and independent
 * subsegments, and the reasons given for each kind of malformed datagram.
 */
#include "ag_test.h"
#include "ag_mem.h"
#include "ag_xray_udp.h"

#define HDR "{\"format\": \"json\", \"version\": 1}\n"
#define TID "1-5759e988-bd862e3fe1be46a994272793"

static char err[256];
static struct ag_xray_doc doc;

static int parse(const char *s)
{
    return ag_xray_udp_parse((const uint8_t *)s, strlen(s), &doc, err, sizeof(err));
}

static void test_valid_segment(void)
{
    const char *body = "{\"name\":\"checkout\",\"id\":\"70de5b6f19ff9a0a\",\"trace_id\":\"" TID
                       "\",\"start_time\":1478293361.271,\"end_time\":1478293361.449}";
    char dgram[512];
    snprintf(dgram, sizeof(dgram), "%s%s\n", HDR, body);
    ASSERT_OK(parse(dgram));
    ASSERT_STREQ(doc.trace_id, TID);
    ASSERT_STREQ(doc.id, "70de5b6f19ff9a0a");
    ASSERT_EQ(doc.is_subsegment, 0);
    ASSERT_EQ(doc.in_progress, 0);
    /* The document is the text after the header, trailing newline trimmed, not a copy. */
    ASSERT_UEQ(doc.doc_len, strlen(body));
    ASSERT_MEMEQ(doc.doc, body, doc.doc_len);
    ASSERT(doc.doc == (const uint8_t *)dgram + strlen(HDR));
}

static void test_in_progress_and_subsegment(void)
{
    ASSERT_OK(parse(HDR "{\"name\":\"n\",\"id\":\"0000000000000001\",\"trace_id\":\"" TID
                        "\",\"start_time\":1,\"in_progress\":true}"));
    ASSERT_EQ(doc.in_progress, 1);
    ASSERT_OK(parse(HDR "{\"name\":\"GetItem\",\"id\":\"53995c3f42cd8ad8\",\"trace_id\":\"" TID
                        "\",\"start_time\":1,\"end_time\":2,\"type\":\"subsegment\","
                        "\"parent_id\":\"70de5b6f19ff9a0a\",\"namespace\":\"aws\"}"));
    ASSERT_EQ(doc.is_subsegment, 1);
    /* Spaces in the header are free, as the daemon's own clients write it either way. */
    ASSERT_OK(parse("{\"format\":\"json\",\"version\":1}\n{\"name\":\"n\",\"id\":"
                    "\"0000000000000001\",\"trace_id\":\"" TID "\",\"start_time\":1,"
                    "\"end_time\":2}"));
    /* A 200-character name counts characters, not bytes: 200 x U+00E9 (400 bytes) is fine. */
    char big[1024];
    size_t o = (size_t)snprintf(big, sizeof(big), "%s{\"name\":\"", HDR);
    for (int i = 0; i < 200; i++) {
        big[o++] = (char)0xc3;
        big[o++] = (char)0xa9;
    }
    snprintf(big + o, sizeof(big) - o, "\",\"id\":\"0000000000000001\",\"trace_id\":\"" TID
                                       "\",\"start_time\":1,\"end_time\":2}");
    ASSERT_OK(parse(big));
}

static void expect_err(const char *dgram, const char *reason)
{
    int rc = parse(dgram);
    if (rc != AG_EPROTO || strstr(err, reason) == NULL) {
        printf("# %s\n#   -> rc %d, \"%s\" (wanted \"%s\")\n", dgram, rc, err, reason);
        ag_test_current.failed = 1;
    }
}

static void test_malformed(void)
{
    expect_err("{\"name\":\"n\"}", "no newline after the header");
    expect_err("{\"format\": \"json\", \"version\": 2}\n{}", "expected \"version\": 1");
    expect_err("{\"format\": \"text\", \"version\": 1}\n{}", "expected \"format\": \"json\"");
    expect_err("format json\n{}", "header: not JSON");
    expect_err(HDR, "no document after the header");
    expect_err(HDR "\n\n", "no document after the header");
    expect_err(HDR "[1,2]", "expected a JSON object");
    expect_err(HDR "{\"name\":", "document: not JSON");
    expect_err(HDR "{\"id\":\"0000000000000001\"}", "'name' is missing");
    expect_err(HDR "{\"name\":7}", "'name' must be a string");
    expect_err(HDR "{\"name\":\"\",\"id\":\"0000000000000001\",\"trace_id\":\"" TID "\"}",
               "'name' must have 1 to 200 characters");
    expect_err(HDR "{\"name\":\"n\",\"id\":\"00000000000000G1\",\"trace_id\":\"" TID "\"}",
               "'id' must be 16 lowercase hex digits");
    expect_err(HDR "{\"name\":\"n\",\"id\":\"00000000000000A1\",\"trace_id\":\"" TID "\"}",
               "'id' must be 16 lowercase hex digits");
    expect_err(HDR "{\"name\":\"n\",\"id\":\"0000000000000001\",\"trace_id\":"
                   "\"5759e988bd862e3fe1be46a994272793\"}",
               "'trace_id' must look like");
    expect_err(HDR "{\"name\":\"n\",\"id\":\"0000000000000001\",\"trace_id\":\"" TID "\"}",
               "'start_time'");
    expect_err(HDR "{\"name\":\"n\",\"id\":\"0000000000000001\",\"trace_id\":\"" TID
                   "\",\"start_time\":1}",
               "needs 'end_time' or \"in_progress\": true");
    expect_err(HDR "{\"name\":\"n\",\"id\":\"0000000000000001\",\"trace_id\":\"" TID
                   "\",\"start_time\":1,\"end_time\":\"2\"}",
               "'end_time' must be a number");
    expect_err(HDR "{\"name\":\"n\",\"id\":\"0000000000000001\",\"trace_id\":\"" TID
                   "\",\"start_time\":1,\"end_time\":2,\"type\":\"subsegment\"}",
               "'parent_id' is missing");
    expect_err(HDR "{\"name\":\"n\",\"id\":\"0000000000000001\",\"trace_id\":\"" TID
                   "\",\"start_time\":1,\"end_time\":2,\"type\":\"segment\"}",
               "'type' can only be \"subsegment\"");
    expect_err(HDR "{\"name\":\"n\",\"name\":\"m\"}", "document: not JSON");
    ASSERT_EQ(ag_test_current.failed, 0);
}

static void test_too_big(void)
{
    size_t n = AG_XRAY_MAX_DOC + 100;
    char *d = ag_malloc(strlen(HDR) + n + 1);
    memcpy(d, HDR, strlen(HDR));
    memset(d + strlen(HDR), ' ', n);
    d[strlen(HDR)] = '{';
    d[strlen(HDR) + n - 1] = '}';
    d[strlen(HDR) + n] = '\0';
    ASSERT_EQ(parse(d), AG_ETOOBIG);
    ASSERT_STRCONTAINS(err, "over X-Ray's 65536");
    ag_free(d);
}

static void test_flatten(void)
{
    /* Line breaks between tokens become spaces; escaped ones inside strings stay as written. */
    const char *in = "{\r\n  \"name\": \"a\\nb\",\n  \"id\": 1\n}";
    const char *want = "{    \"name\": \"a\\nb\",   \"id\": 1 }";
    uint8_t out[64];
    size_t n = strlen(in);
    ag_xray_udp_flatten(out, (const uint8_t *)in, n);
    ASSERT_EQ(n, strlen(want));
    ASSERT_MEMEQ(out, want, n);
    ag_xray_udp_flatten(out, (const uint8_t *)"", 0);
}

AG_TEST_MAIN(AG_TEST_CASE(test_valid_segment), AG_TEST_CASE(test_in_progress_and_subsegment),
             AG_TEST_CASE(test_malformed), AG_TEST_CASE(test_too_big), AG_TEST_CASE(test_flatten))
