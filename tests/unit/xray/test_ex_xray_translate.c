/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ex_xray_translate, the request loop shared by the awsxray exporter and
 * `otterd translate`: documents in request order, one line each; spans X-Ray refuses skipped and
 * counted (invalid trace id, a document over 64 kB even without metadata); a local-root CLIENT
 * span giving two documents; a request of another signal refused; config options mapped;
 * failmalloc.
 */
#include "ag_test.h"
#include "ag_arena.h"
#include "ag_mem.h"
#include "ag_otlp_json.h"
#include "ex_xray_translate.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *request_json(uint32_t now)
{
    size_t cap = 200000;
    char *big = ag_malloc(70001);
    char *j = ag_malloc(cap);
    if (big == NULL || j == NULL) {
        ag_free(big);
        ag_free(j);
        return NULL;
    }
    memset(big, 'u', 70000);
    big[70000] = '\0';
    /* 1: a valid SERVER span; 2: a W3C id; 3: a url too long for any document; 4: local root. */
    snprintf(j, cap,
             "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
             "{\"traceId\":\"%08x000000000000000000000001\",\"spanId\":\"0000000000000001\","
             "\"name\":\"a\",\"kind\":2,\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"},"
             "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"0000000000000002\","
             "\"name\":\"b\",\"kind\":2},"
             "{\"traceId\":\"%08x000000000000000000000003\",\"spanId\":\"0000000000000003\","
             "\"name\":\"c\",\"kind\":2,\"attributes\":[{\"key\":\"http.url\",\"value\":"
             "{\"stringValue\":\"http://h/%s\"}}]},"
             "{\"traceId\":\"%08x000000000000000000000004\",\"spanId\":\"0000000000000004\","
             "\"parentSpanId\":\"00000000000000ff\",\"name\":\"d\",\"kind\":3,\"attributes\":["
             "{\"key\":\"aws.span.kind\",\"value\":{\"stringValue\":\"LOCAL_ROOT\"}},"
             "{\"key\":\"aws.local.service\",\"value\":{\"stringValue\":\"me\"}},"
             "{\"key\":\"aws.remote.service\",\"value\":{\"stringValue\":\"you\"}}]}"
             "]}]}]}",
             now, now, big, now);
    ag_free(big);
    return j;
}

static int decode(const char *json, struct ag_arena **arena, ProtobufCMessage **msg)
{
    char err[256];
    *arena = ag_arena_new(0);
    if (*arena == NULL) {
        return AG_ENOMEM;
    }
    return ag_otlp_json_decode(AG_SIGNAL_TRACES, (const uint8_t *)json, strlen(json), *arena, msg,
                               err, sizeof(err));
}

static void test_counts_and_order(void)
{
    uint32_t now = (uint32_t)time(NULL) - 100;
    char *j = request_json(now);
    ASSERT_NOT_NULL(j);
    struct ag_arena *a = NULL;
    ProtobufCMessage *msg = NULL;
    ASSERT_OK(decode(j, &a, &msg));
    struct ag_buf out;
    ag_buf_init(&out, 1 << 20);
    struct ex_xray_translate_result res;
    ASSERT_OK(ex_xray_translate(NULL, msg, &out, &res));
    ASSERT_EQ(res.spans, 4);
    ASSERT_EQ(res.docs, 3);
    ASSERT_EQ(res.invalid, 1);
    ASSERT_EQ(res.too_big, 1);
    /* Three lines: span 1, then the local root's dependency subsegment and service segment. */
    const char *s = ag_buf_str(&out);
    const char *l2 = strchr(s, '\n');
    ASSERT_NOT_NULL(l2);
    const char *l3 = strchr(l2 + 1, '\n');
    ASSERT_NOT_NULL(l3);
    ASSERT_EQ(strchr(l3 + 1, '\n') - s, (long)out.len - 1);
    ASSERT(strncmp(s, "{\"name\":\"a\",\"id\":\"0000000000000001\"", 35) == 0);
    ASSERT(strncmp(l2 + 1, "{\"name\":\"you\",\"id\":\"0000000000000004\"", 37) == 0);
    ASSERT(strncmp(l3 + 1, "{\"name\":\"me\",", 13) == 0);
    ag_buf_cleanup(&out);
    ag_arena_free(a);
    ag_free(j);
}

/* Each ResourceSpans is translated with its own resource (prepared once per ResourceSpans):
 * the second resource's attribute must not leak into the first's spans or the other way round,
 * and a ResourceSpans without a resource gives no resource metadata. */
static void test_each_resource_its_own(void)
{
    uint32_t now = (uint32_t)time(NULL) - 100;
    char j[2048];
    snprintf(j, sizeof(j),
             "{\"resourceSpans\":["
             "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
             "{\"stringValue\":\"one\"}}]},\"scopeSpans\":[{\"spans\":["
             "{\"traceId\":\"%08x000000000000000000000001\",\"spanId\":\"0000000000000001\","
             "\"name\":\"a\",\"kind\":2,\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}]}]},"
             "{\"resource\":{\"attributes\":[{\"key\":\"host.name\",\"value\":"
             "{\"stringValue\":\"two\"}}]},\"scopeSpans\":[{\"spans\":["
             "{\"traceId\":\"%08x000000000000000000000002\",\"spanId\":\"0000000000000002\","
             "\"name\":\"b\",\"kind\":2,\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}]}]},"
             "{\"scopeSpans\":[{\"spans\":["
             "{\"traceId\":\"%08x000000000000000000000003\",\"spanId\":\"0000000000000003\","
             "\"name\":\"c\",\"kind\":2,\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}]}]}"
             "]}",
             now, now, now);
    struct ag_arena *a = NULL;
    ProtobufCMessage *msg = NULL;
    ASSERT_OK(decode(j, &a, &msg));
    struct ag_buf out;
    ag_buf_init(&out, 1 << 20);
    struct ex_xray_translate_result res;
    ASSERT_OK(ex_xray_translate(NULL, msg, &out, &res));
    ASSERT_EQ(res.docs, 3);
    const char *s = ag_buf_str(&out);
    const char *l2 = strchr(s, '\n');
    ASSERT_NOT_NULL(l2);
    const char *l3 = strchr(l2 + 1, '\n');
    ASSERT_NOT_NULL(l3);
    const char *one = "\"metadata\":{\"default\":{\"otel.resource.service.name\":\"one\"}}";
    const char *two = "\"metadata\":{\"default\":{\"otel.resource.host.name\":\"two\"}}";
    char *d1 = ag_strndup(s, (size_t)(l2 - s));
    char *d2 = ag_strndup(l2 + 1, (size_t)(l3 - l2 - 1));
    char *d3 = ag_strdup(l3 + 1);
    ASSERT(d1 != NULL && d2 != NULL && d3 != NULL);
    ASSERT(strstr(d1, one) != NULL && strstr(d1, "two") == NULL);
    ASSERT(strstr(d2, two) != NULL && strstr(d2, "one") == NULL);
    ASSERT(strstr(d3, "metadata") == NULL);
    ag_free(d1);
    ag_free(d2);
    ag_free(d3);
    ag_buf_cleanup(&out);
    ag_arena_free(a);
}

static void test_not_a_trace_request(void)
{
    struct ag_arena *a = ag_arena_new(0);
    ProtobufCMessage *msg = NULL;
    char err[256];
    const char *m = "{\"resourceMetrics\":[]}";
    ASSERT_OK(ag_otlp_json_decode(AG_SIGNAL_METRICS, (const uint8_t *)m, strlen(m), a, &msg, err,
                                  sizeof(err)));
    struct ag_buf out;
    ag_buf_init(&out, 1 << 20);
    struct ex_xray_translate_result res;
    ASSERT_EQ(ex_xray_translate(NULL, msg, &out, &res), AG_EINVAL);
    ASSERT_EQ(ex_xray_translate(NULL, NULL, &out, &res), AG_EINVAL);
    ASSERT_EQ(out.len, 0);
    ag_arena_free(a);
}

static void test_options_from_config(void)
{
    char *idx[] = {"a", "b"};
    char *groups[] = {"g"};
    struct ag_awsxray_config c;
    memset(&c, 0, sizeof(c));
    c.indexed_attributes = idx;
    c.n_indexed_attributes = 2;
    c.index_all_attributes = 1;
    c.aws_log_groups = groups;
    c.n_aws_log_groups = 1;
    c.skip_timestamp_validation = 1;
    c.allow_dot = 0;
    struct ex_xray_options o;
    ex_xray_options_from_config(&c, &o);
    ASSERT_EQ(o.n_indexed_attributes, 2);
    ASSERT_STREQ(o.indexed_attributes[1], "b");
    ASSERT(o.index_all_attributes);
    ASSERT_EQ(o.n_aws_log_groups, 1);
    ASSERT_STREQ(o.aws_log_groups[0], "g");
    ASSERT(o.skip_timestamp_validation);
    ASSERT(o.disallow_dot);
    ASSERT_EQ(o.now_unix_s, 0);
    c.allow_dot = 1;
    ex_xray_options_from_config(&c, &o);
    ASSERT(!o.disallow_dot);
    ex_xray_options_from_config(NULL, &o);
    ASSERT_EQ(o.n_indexed_attributes, 0);
    ASSERT(!o.skip_timestamp_validation);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    uint32_t now = (uint32_t)time(NULL) - 100;
    char *j = request_json(now);
    ASSERT_NOT_NULL(j);
    struct ag_arena *a = NULL;
    ProtobufCMessage *msg = NULL;
    ASSERT_OK(decode(j, &a, &msg));
    for (long n = 0;; n++) {
        struct ag_buf out;
        struct ex_xray_translate_result res;
        ag_buf_init(&out, 1 << 20);
        ag_mem_fail_after(n);
        int rc = ex_xray_translate(NULL, msg, &out, &res);
        ag_mem_fail_after(-1);
        ag_buf_cleanup(&out);
        if (rc == 0) {
            ASSERT(n > 2);
            ASSERT_EQ(res.docs, 3);
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
    }
    ag_arena_free(a);
    ag_free(j);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_counts_and_order), AG_TEST_CASE(test_each_resource_its_own),
             AG_TEST_CASE(test_not_a_trace_request),
             AG_TEST_CASE(test_options_from_config), AG_TEST_CASE(test_failmalloc))
