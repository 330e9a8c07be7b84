/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AWS error responses in each protocol's form (specs/aws.md §4), with bodies written as the
 * services send them.
 */
#include "ag_test.h"
#include "ex_aws_error.h"

static struct ex_aws_error e;

static int parse(enum ex_aws_protocol p, const char *hdr, const char *body)
{
    return ex_aws_error_parse(p, hdr, body, body ? strlen(body) : 0, &e);
}

static void test_rest_json(void)
{
    /* X-Ray: the code is in x-amzn-ErrorType, before the ':'. */
    ASSERT_OK(parse(EX_AWS_REST_JSON, "ThrottledException:http://internal.amazon.com/coral/",
                    "{\"message\":\"Rate exceeded\"}"));
    ASSERT_STREQ(e.code, "ThrottledException");
    ASSERT_STREQ(e.message, "Rate exceeded");
    /* No header: the body's __type, namespace prefix removed. */
    ASSERT_OK(parse(EX_AWS_REST_JSON, NULL,
                    "{\"__type\":\"com.amazon.bedrock#ValidationException\","
                    "\"Message\":\"The provided model identifier is invalid.\"}"));
    ASSERT_STREQ(e.code, "ValidationException");
    ASSERT_STREQ(e.message, "The provided model identifier is invalid.");
}

static void test_json(void)
{
    ASSERT_OK(parse(EX_AWS_JSON, "ignored for JSON 1.1",
                    "{\"__type\":\"com.amazonaws.logs#ResourceNotFoundException\","
                    "\"message\":\"The specified log group does not exist.\"}"));
    ASSERT_STREQ(e.code, "ResourceNotFoundException");
    ASSERT_STREQ(e.message, "The specified log group does not exist.");
    ASSERT_OK(parse(EX_AWS_JSON, NULL, "{\"__type\":\"ThrottlingException\"}"));
    ASSERT_STREQ(e.code, "ThrottlingException");
    ASSERT_STREQ(e.message, "");
}

static void test_query_xml(void)
{
    ASSERT_OK(parse(EX_AWS_QUERY, NULL,
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                    "<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                    "<Message>No OpenIDConnect provider found</Message></Error>"
                    "<RequestId>c6104cbe</RequestId></ErrorResponse>"));
    ASSERT_STREQ(e.code, "InvalidIdentityToken");
    ASSERT_STREQ(e.message, "No OpenIDConnect provider found");
}

/* A JSON service whose front end answers a bad signature in XML (moto does so for X-Ray). */
static void test_xml_from_a_json_service(void)
{
    ASSERT_OK(parse(EX_AWS_REST_JSON, NULL,
                    "\n<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ErrorResponse><Errors><Error>"
                    "<Code>SignatureDoesNotMatch</Code><Message>The request signature we "
                    "calculated does not match</Message><Type>Sender</Type></Error></Errors>"
                    "</ErrorResponse>"));
    ASSERT_STREQ(e.code, "SignatureDoesNotMatch");
    ASSERT_STREQ(e.message, "The request signature we calculated does not match");
    /* The header still wins over the body. */
    ASSERT_OK(parse(EX_AWS_REST_JSON, "AccessDeniedException",
                    "<Error><Code>Other</Code></Error>"));
    ASSERT_STREQ(e.code, "AccessDeniedException");
    ASSERT_OK(parse(EX_AWS_JSON, NULL, "<Error><Code>IncompleteSignature</Code></Error>"));
    ASSERT_STREQ(e.code, "IncompleteSignature");
}

static void test_nothing_found_and_dirty_input(void)
{
    ASSERT_EQ(parse(EX_AWS_JSON, NULL, "<html>502 Bad Gateway</html>"), AG_ENOTFOUND);
    ASSERT_STREQ(e.code, "");
    ASSERT_EQ(parse(EX_AWS_QUERY, NULL, "<Error><Code>Unclosed"), AG_ENOTFOUND);
    ASSERT_EQ(parse(EX_AWS_REST_JSON, NULL, NULL), AG_ENOTFOUND);
    /* Control characters never reach a log line. */
    ASSERT_OK(parse(EX_AWS_JSON, NULL, "{\"__type\":\"Bad\\nCode\",\"message\":\"a\\u0007b\"}"));
    ASSERT_STREQ(e.code, "Bad?Code");
    ASSERT_STREQ(e.message, "a?b");
    /* An overlong message is shortened, still terminated. */
    char body[2048];
    size_t o = (size_t)snprintf(body, sizeof(body), "{\"__type\":\"X\",\"message\":\"");
    memset(body + o, 'm', 1500);
    snprintf(body + o + 1500, sizeof(body) - o - 1500, "\"}");
    ASSERT_OK(parse(EX_AWS_JSON, NULL, body));
    ASSERT_UEQ(strlen(e.message), sizeof(e.message) - 1);
}

AG_TEST_MAIN(AG_TEST_CASE(test_rest_json), AG_TEST_CASE(test_json), AG_TEST_CASE(test_query_xml),
             AG_TEST_CASE(test_xml_from_a_json_service),
             AG_TEST_CASE(test_nothing_found_and_dirty_input))
