/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ex_cw_logs: the awscloudwatchlogs message of a log record (upstream's key order,
 * empty values omitted, sorted map keys, bytes as base64, scope attributes as strings), raw_log
 * bodies, EMF routing, the timestamp fallbacks and {placeholder} names. The expected JSON is
 * written out by hand.
 */
#include "ag_test.h"
#include "ag_json.h"
#include "ag_mem.h"
#include "ex_cw_logs.h"
#include "ex_cw_logs_batch.h"
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "opentelemetry/proto/resource/v1/resource.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue anyvalue;
typedef Opentelemetry__Proto__Common__V1__KeyValue keyvalue;
typedef Opentelemetry__Proto__Common__V1__ArrayValue arrayvalue;
typedef Opentelemetry__Proto__Common__V1__KeyValueList kvlist;

#define V(x) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##x

static anyvalue sval(const char *s)
{
    anyvalue v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = V(STRING_VALUE);
    v.string_value = (char *)s;
    return v;
}

static anyvalue ival(int64_t i)
{
    anyvalue v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = V(INT_VALUE);
    v.int_value = i;
    return v;
}

static keyvalue kv(const char *k, anyvalue *v)
{
    keyvalue x = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    x.key = (char *)k;
    x.value = v;
    return x;
}

/* Runs |fn| into a fresh buffer and compares with |want|. */
static int message_is(const ex_cw_log_record *rec, const ex_cw_scope *scope,
                      const ex_cw_resource *res, const char *want)
{
    struct ag_buf b;
    ag_buf_init(&b, 1 << 20);
    int rc = ex_cw_logs_message(rec, scope, res, &b);
    int ok = rc == 0 && strcmp(ag_buf_str(&b), want) == 0;
    if (!ok) {
        printf("# got  %s (rc %d)\n# want %s\n", ag_buf_str(&b), rc, want);
    }
    ag_buf_cleanup(&b);
    return ok;
}

static void test_full_record(void)
{
    uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    uint8_t sid[8] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
    uint8_t bytes[3] = {1, 2, 3};
    anyvalue body = sval("hello \"w\"\n");
    anyvalue a = sval("x"), b = ival(2), z, y1 = ival(1), y2, y, c, d;
    z = sval("");
    z.value_case = V(BOOL_VALUE);
    z.bool_value = 1;
    y2 = sval("");
    y2.value_case = V(DOUBLE_VALUE);
    y2.double_value = 2.5;
    anyvalue *yv[2] = {&y1, &y2};
    arrayvalue arr = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    arr.n_values = 2;
    arr.values = yv;
    y = sval("");
    y.value_case = V(ARRAY_VALUE);
    y.array_value = &arr;
    keyvalue ckv[2] = {kv("z", &z), kv("y", &y)};
    keyvalue *ckvp[2] = {&ckv[0], &ckv[1]};
    kvlist cl = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    cl.n_values = 2;
    cl.values = ckvp;
    c = sval("");
    c.value_case = V(KVLIST_VALUE);
    c.kvlist_value = &cl;
    d = sval("");
    d.value_case = V(BYTES_VALUE);
    d.bytes_value.data = bytes;
    d.bytes_value.len = 3;
    keyvalue attrs[4] = {kv("b", &b), kv("a", &a), kv("c", &c), kv("d", &d)};
    keyvalue *attrp[4] = {&attrs[0], &attrs[1], &attrs[2], &attrs[3]};

    ex_cw_log_record rec = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    rec.body = &body;
    rec.severity_number = 9;
    rec.severity_text = "INFO";
    rec.dropped_attributes_count = 2;
    rec.flags = 1;
    rec.trace_id.data = tid;
    rec.trace_id.len = 16;
    rec.span_id.data = sid;
    rec.span_id.len = 8;
    rec.n_attributes = 4;
    rec.attributes = attrp;

    anyvalue sn = ival(5), sm = sval("s");
    keyvalue sattrs[2] = {kv("n", &sn), kv("m", &sm)};
    keyvalue *sattrp[2] = {&sattrs[0], &sattrs[1]};
    ex_cw_scope scope = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    scope.name = "lib";
    scope.version = "1.0";
    scope.n_attributes = 2;
    scope.attributes = sattrp;

    anyvalue rs = sval("svc"), rh = sval("h");
    keyvalue rattrs[2] = {kv("service.name", &rs), kv("host.name", &rh)};
    keyvalue *rattrp[2] = {&rattrs[0], &rattrs[1]};
    ex_cw_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 2;
    res.attributes = rattrp;

    ASSERT(message_is(&rec, &scope, &res,
                      "{\"body\":\"hello \\\"w\\\"\\n\",\"severity_number\":9,"
                      "\"severity_text\":\"INFO\",\"dropped_attributes_count\":2,\"flags\":1,"
                      "\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\","
                      "\"span_id\":\"a1a2a3a4a5a6a7a8\","
                      "\"attributes\":{\"a\":\"x\",\"b\":2,\"c\":{\"y\":[1,2.5],\"z\":true},"
                      "\"d\":\"AQID\"},"
                      "\"scope\":{\"name\":\"lib\",\"version\":\"1.0\","
                      "\"attributes\":{\"m\":\"s\",\"n\":\"5\"}},"
                      "\"resource\":{\"host.name\":\"h\",\"service.name\":\"svc\"}}"));

    /* A map body stays a JSON object, keys sorted. */
    anyvalue mb = c;
    rec.body = &mb;
    rec.n_attributes = 0;
    rec.severity_number = 0;
    rec.severity_text = "";
    rec.dropped_attributes_count = 0;
    rec.flags = 0;
    scope.version = "";
    scope.n_attributes = 0;
    ASSERT(message_is(&rec, &scope, NULL,
                      "{\"body\":{\"y\":[1,2.5],\"z\":true},"
                      "\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\","
                      "\"span_id\":\"a1a2a3a4a5a6a7a8\",\"scope\":{\"name\":\"lib\"}}"));
}

static void test_minimal_records(void)
{
    uint8_t zero[16] = {0};
    ex_cw_log_record rec = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    ASSERT(message_is(&rec, NULL, NULL, "{}"));
    /* All-zero ids, an unnamed scope and an empty resource are omitted. */
    rec.trace_id.data = zero;
    rec.trace_id.len = 16;
    rec.span_id.data = zero;
    rec.span_id.len = 8;
    ex_cw_scope scope = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    scope.version = "2";
    ex_cw_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    ASSERT(message_is(&rec, &scope, &res, "{}"));
    /* An empty string body is still a body. */
    anyvalue body = sval("");
    rec.body = &body;
    ASSERT(message_is(&rec, NULL, NULL, "{\"body\":\"\"}"));
    /* Duplicate attribute keys: the last one wins, as in a Go map. */
    anyvalue v1 = ival(1), v2 = ival(2);
    keyvalue attrs[2] = {kv("k", &v1), kv("k", &v2)};
    keyvalue *attrp[2] = {&attrs[0], &attrs[1]};
    rec.n_attributes = 2;
    rec.attributes = attrp;
    ASSERT(message_is(&rec, NULL, NULL, "{\"body\":\"\",\"attributes\":{\"k\":2}}"));
}

/*
 * Writes |rec| with ex_cw_logs_shared() + ex_cw_logs_message_shared() in the escaped form and
 * checks it against ag_json_escape() of the plain message (ex_cw_logs_message()), and the plain
 * length reported against the plain message's.
 */
static int escaped_matches(const ex_cw_log_record *rec, const ex_cw_scope *scope,
                           const ex_cw_resource *res)
{
    struct ag_buf plain, want, sh, got;
    size_t sh_plain = 0, got_plain = 0;
    ag_buf_init(&plain, 1 << 20);
    ag_buf_init(&want, 1 << 20);
    ag_buf_init(&sh, 1 << 20);
    ag_buf_init(&got, 1 << 20);
    int ok = ex_cw_logs_message(rec, scope, res, &plain) == 0 &&
             ag_json_escape(&want, ag_buf_str(&plain), plain.len) == 0 &&
             ex_cw_logs_shared(scope, res, true, &sh, &sh_plain) == 0 &&
             ex_cw_logs_message_shared(rec, ag_buf_str(&sh), sh.len, sh_plain, true, &got,
                                       &got_plain) == 0 &&
             strcmp(ag_buf_str(&got), ag_buf_str(&want)) == 0 && got_plain == plain.len;
    if (!ok) {
        printf("# got  %s (plain %zu)\n# want %s (plain %zu)\n", ag_buf_str(&got), got_plain,
               ag_buf_str(&want), plain.len);
    }
    ag_buf_cleanup(&plain);
    ag_buf_cleanup(&want);
    ag_buf_cleanup(&sh);
    ag_buf_cleanup(&got);
    return ok;
}

/* The scope and resource members written once per scope, then joined to each record's part. */
static void test_shared_parts(void)
{
    struct ag_buf sh, b;
    size_t plain = 0;
    ag_buf_init(&sh, 1 << 20);
    ag_buf_init(&b, 1 << 20);
    ex_cw_scope scope = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    scope.name = "lib";
    anyvalue rv = sval("x&y");
    keyvalue rattrs[1] = {kv("k", &rv)};
    keyvalue *rattrp[1] = {&rattrs[0]};
    ex_cw_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = rattrp;
    /* A leading comma, no braces, HTML-safe already ('&' -> \u0026). */
    const char *want_sh = ",\"scope\":{\"name\":\"lib\"},\"resource\":{\"k\":\"x\\u0026y\"}";
    ASSERT_OK(ex_cw_logs_shared(&scope, &res, false, &sh, &plain));
    ASSERT_STREQ(ag_buf_str(&sh), want_sh);
    ASSERT_UEQ(plain, strlen(want_sh));
    /* The escaped form: quotes and the backslash of \u0026 escaped again; the plain length is
     * still the plain text's. */
    ag_buf_reset(&b);
    ASSERT_OK(ex_cw_logs_shared(&scope, &res, true, &b, &plain));
    ASSERT_STREQ(ag_buf_str(&b), ",\\\"scope\\\":{\\\"name\\\":\\\"lib\\\"},"
                                 "\\\"resource\\\":{\\\"k\\\":\\\"x\\\\u0026y\\\"}");
    ASSERT_UEQ(plain, strlen(want_sh));

    /* The record's part is made HTML-safe where it is written; the text before it is kept. */
    anyvalue body = sval("<hi>");
    ex_cw_log_record rec = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    rec.body = &body;
    ag_buf_reset(&b);
    ASSERT_OK(ag_buf_adds(&b, "P"));
    ASSERT_OK(ex_cw_logs_message_shared(&rec, ag_buf_str(&sh), sh.len, strlen(want_sh), false, &b,
                                        &plain));
    const char *want = "P{\"body\":\"\\u003chi\\u003e\",\"scope\":{\"name\":\"lib\"},"
                       "\"resource\":{\"k\":\"x\\u0026y\"}}";
    ASSERT_STREQ(ag_buf_str(&b), want);
    ASSERT_UEQ(plain, strlen(want) - 1); /* the message's own bytes, not the "P" before it */
    /* The same bytes as the one-call form. */
    ASSERT(message_is(&rec, &scope, &res, want + 1));

    /* A record with nothing of its own takes the members without the comma. */
    ex_cw_log_record empty = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    ag_buf_reset(&b);
    ASSERT_OK(ex_cw_logs_message_shared(&empty, ag_buf_str(&sh), sh.len, strlen(want_sh), false, &b,
                                        &plain));
    ASSERT_STREQ(ag_buf_str(&b),
                 "{\"scope\":{\"name\":\"lib\"},\"resource\":{\"k\":\"x\\u0026y\"}}");
    ASSERT_UEQ(plain, b.len);

    /* No named scope and no resource attributes: nothing shared. */
    ag_buf_reset(&sh);
    ASSERT_OK(ex_cw_logs_shared(NULL, NULL, false, &sh, &plain));
    ASSERT_UEQ(sh.len, 0);
    ASSERT_UEQ(plain, 0);
    ag_buf_reset(&b);
    ASSERT_OK(ex_cw_logs_message_shared(&rec, ag_buf_str(&sh), sh.len, 0, false, &b, NULL));
    ASSERT_STREQ(ag_buf_str(&b), "{\"body\":\"\\u003chi\\u003e\"}");
    ag_buf_cleanup(&sh);
    ag_buf_cleanup(&b);

    /* The escaped form is ag_json_escape() of the plain message, whatever needs escaping:
     * quotes, backslashes, control bytes, HTML characters, U+2028/U+2029, invalid UTF-8. */
    static const char *const bodies[] = {
        "plain",
        "q\"uo\\te\n\t\x01",
        "<a href=\"x&y\">",
        "line\xE2\x80\xA8sep\xE2\x80\xA9",
        "bad \xFF utf8 \xC3",
        "",
        "\xE2\x80",
        "\\u003c already",
    };
    anyvalue av = sval("v<&>\"");
    keyvalue attrs[2] = {kv("a\"k", &av), kv("b<", &rv)};
    keyvalue *attrp[2] = {&attrs[0], &attrs[1]};
    ex_cw_scope sc = scope;
    sc.version = "1<2";
    sc.n_attributes = 2;
    sc.attributes = attrp;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        anyvalue bv = sval(bodies[i]);
        ex_cw_log_record r = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
        r.body = &bv;
        r.severity_text = "W<";
        r.n_attributes = 2;
        r.attributes = attrp;
        ASSERT(escaped_matches(&r, &sc, &res));
        ASSERT(escaped_matches(&r, NULL, NULL));
        ASSERT(escaped_matches(&r, &sc, NULL));
    }
    ASSERT(escaped_matches(&empty, &sc, &res));
    ASSERT(escaped_matches(&empty, NULL, NULL));
}

/*
 * The HTML-safe pass finds its characters wherever they are: each of them (and a 0xE2 that
 * starts another character, left alone) at every offset of a 40-byte body, so every lane of a
 * 16- or 8-byte scan and the tail is hit. Expected text built piece by piece.
 */
static void test_html_safe_offsets(void)
{
    static const struct {
        const char *in, *out;
    } chars[] = {
        {"<", "\\u003c"},
        {">", "\\u003e"},
        {"&", "\\u0026"},
        {"\xE2\x80\xA8", "\\u2028"},
        {"\xE2\x80\xA9", "\\u2029"},
        {"\xE2\x80\x99", "\xE2\x80\x99"}, /* ’: stays */
    };
    char body[64], want[128];
    for (size_t c = 0; c < sizeof(chars) / sizeof(chars[0]); c++) {
        for (size_t pos = 0; pos <= 40; pos++) {
            size_t n = strlen(chars[c].in);
            memset(body, 'a', pos);
            memcpy(body + pos, chars[c].in, n);
            memset(body + pos + n, 'b', 40 - pos);
            body[40 + n] = '\0';
            int w = snprintf(want, sizeof(want), "{\"body\":\"%.*s%s%.*s\"}", (int)pos, body,
                             chars[c].out, (int)(40 - pos), body + pos + n);
            ASSERT(w > 0 && (size_t)w < sizeof(want));
            anyvalue v = sval(body);
            ex_cw_log_record rec = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
            rec.body = &v;
            ASSERT(message_is(&rec, NULL, NULL, want));
        }
    }
}

static anyvalue dval(double d)
{
    anyvalue v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = V(DOUBLE_VALUE);
    v.double_value = d;
    return v;
}

/* Go's encoding/json: ES6 number formatting, and HTML-safe strings (keys included). */
static void test_go_encoding(void)
{
    static const struct {
        double d;
        const char *want;
    } nums[] = {
        {2.5, "2.5"},
        {0.1, "0.1"},
        {-0.0, "-0"},
        {100, "100"},
        {123456789.125, "123456789.125"},
        {1e20, "100000000000000000000"},
        {1e21, "1e+21"},
        {1.5e300, "1.5e+300"},
        {0.000001, "0.000001"},
        {1e-7, "1e-7"},
        {-2.5e-10, "-2.5e-10"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        anyvalue body = dval(nums[i].d);
        ex_cw_log_record rec = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
        rec.body = &body;
        char want[128];
        snprintf(want, sizeof(want), "{\"body\":%s}", nums[i].want);
        ASSERT(message_is(&rec, NULL, NULL, want));
    }
    anyvalue body = sval("<a href=\"x?a=1&b=2\">\xE2\x80\xA8\xE2\x80\xA9</a>");
    anyvalue v = sval("&");
    keyvalue attr = kv("k<>", &v);
    keyvalue *attrp = &attr;
    ex_cw_log_record rec = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    rec.body = &body;
    rec.n_attributes = 1;
    rec.attributes = &attrp;
    ASSERT(message_is(&rec, NULL, NULL,
                      "{\"body\":\"\\u003ca href=\\\"x?a=1\\u0026b=2\\\"\\u003e\\u2028"
                      "\\u2029\\u003c/a\\u003e\",\"attributes\":{\"k\\u003c\\u003e\":"
                      "\"\\u0026\"}}"));
}

static int raw_is(const anyvalue *body, const char *want)
{
    ex_cw_log_record rec = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    rec.body = (anyvalue *)body;
    struct ag_buf b;
    ag_buf_init(&b, 1 << 20);
    int ok = ex_cw_logs_raw(&rec, &b) == 0 && strcmp(ag_buf_str(&b), want) == 0;
    if (!ok) {
        printf("# got %s, want %s\n", ag_buf_str(&b), want);
    }
    ag_buf_cleanup(&b);
    return ok;
}

static void test_raw_log(void)
{
    anyvalue s = sval("plain \"text\"\n"), i = ival(-42), m, by;
    ASSERT(raw_is(&s, "plain \"text\"\n"));
    ASSERT(raw_is(&i, "-42"));
    ASSERT(raw_is(NULL, ""));
    anyvalue one = ival(1);
    keyvalue k = kv("a", &one);
    keyvalue *kp = &k;
    kvlist l = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    l.n_values = 1;
    l.values = &kp;
    m = sval("");
    m.value_case = V(KVLIST_VALUE);
    m.kvlist_value = &l;
    ASSERT(raw_is(&m, "{\"a\":1}"));
    uint8_t data[4] = {'a', 'b', 'c', 'd'};
    by = sval("");
    by.value_case = V(BYTES_VALUE);
    by.bytes_value.data = data;
    by.bytes_value.len = 4;
    ASSERT(raw_is(&by, "YWJjZA=="));
}

static void test_emf_route(void)
{
    char g[64], s[64];
    const char *v1 = "{\"_aws\":{\"Timestamp\":1,\"CloudWatchMetrics\":[],\"LogGroupName\":"
                     "\"lg\",\"LogStreamName\":\"ls\"},\"m\":1}";
    ASSERT(ex_cw_logs_emf_route(v1, strlen(v1), g, s, sizeof(g)));
    ASSERT_STREQ(g, "lg");
    ASSERT_STREQ(s, "ls");
    const char *v1b = " {\"_aws\":{\"CloudWatchMetrics\":[]}}";
    ASSERT(ex_cw_logs_emf_route(v1b, strlen(v1b), g, s, sizeof(g)));
    ASSERT_STREQ(g, "");
    ASSERT_STREQ(s, "");
    const char *v0 = "{\"log_group_name\":\"g0\",\"log_stream_name\":\"s0\",\"x\":1}";
    ASSERT(ex_cw_logs_emf_route(v0, strlen(v0), g, s, sizeof(g)));
    ASSERT_STREQ(g, "g0");
    ASSERT_STREQ(s, "s0");
    ASSERT(!ex_cw_logs_emf_route("text", 4, g, s, sizeof(g)));
    ASSERT(!ex_cw_logs_emf_route("{\"a\":1}", 7, g, s, sizeof(g)));
    ASSERT(!ex_cw_logs_emf_route("{\"a\":", 5, g, s, sizeof(g)));
}

static void test_timestamp(void)
{
    ex_cw_log_record rec = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
    ASSERT_EQ(ex_cw_logs_timestamp(&rec, 77), 77);
    rec.observed_time_unix_nano = 1700000000999999999ull;
    ASSERT_EQ(ex_cw_logs_timestamp(&rec, 77), 1700000000999ll);
    rec.time_unix_nano = 1700000000123456789ull;
    ASSERT_EQ(ex_cw_logs_timestamp(&rec, 77), 1700000000123ll);
}

static int name_is(const char *tmpl, const ex_cw_resource *res, const char *want)
{
    struct ag_buf b;
    ag_buf_init(&b, 4096);
    int ok = ex_cw_logs_name(tmpl, res, &b) == 0 && strcmp(ag_buf_str(&b), want) == 0;
    if (!ok) {
        printf("# got %s, want %s\n", ag_buf_str(&b), want);
    }
    ag_buf_cleanup(&b);
    return ok;
}

static void test_names(void)
{
    anyvalue cl = sval("c1"), tid = sval("literal"), task = sval("t9"), foo = sval("bar"),
             empty = sval(""), port = ival(8080);
    keyvalue attrs[6] = {kv("aws.ecs.cluster.name", &cl), kv("TaskId", &tid),
                         kv("aws.ecs.task.id", &task),    kv("foo", &foo),
                         kv("k8s.node.name", &empty),     kv("port", &port)};
    keyvalue *attrp[6] = {&attrs[0], &attrs[1], &attrs[2], &attrs[3], &attrs[4], &attrs[5]};
    ex_cw_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 6;
    res.attributes = attrp;
    ASSERT(name_is("/aws/{ClusterName}/{TaskId}/x", &res, "/aws/c1/literal/x"));
    ASSERT(name_is("{NodeName}-{PodName}", &res, "undefined-undefined"));
    ASSERT(name_is("{foo}.{bar}.{port}", &res, "bar.{bar}.8080"));
    ASSERT(name_is("plain", &res, "plain"));
    ASSERT(name_is("open{abc", &res, "open{abc"));
    ASSERT(name_is("{ClusterName}", NULL, "undefined"));
}

/*
 * ex_cw_logs_batch_fill(): messages are written where they are kept, and a record that fails to
 * encode (a body nested deeper than the writer's AG_JSON_MAX_DEPTH) is dropped and counted while
 * the others of the request stay, whether it comes first, in the middle or last, plain or escaped.
 */
static void test_batch_fill_encode_drop(void)
{
    enum { DEEP = AG_JSON_MAX_DEPTH + 10 };
    static anyvalue nest[DEEP];
    static arrayvalue arrs[DEEP];
    static anyvalue *one[DEEP];
    for (size_t i = 0; i < DEEP; i++) {
        anyvalue v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        arrayvalue a = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
        nest[i] = v;
        arrs[i] = a;
        nest[i].value_case = V(ARRAY_VALUE);
        nest[i].array_value = &arrs[i];
        if (i + 1 < DEEP) {
            one[i] = &nest[i + 1];
            arrs[i].n_values = 1;
            arrs[i].values = &one[i];
        }
    }
    anyvalue ba = sval("a"), bc = sval("c\"q");
    anyvalue rs = sval("svc");
    keyvalue rattr = kv("service.name", &rs), *rattrs[1] = {&rattr};
    ex_cw_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    res.n_attributes = 1;
    res.attributes = rattrs;
    /* The bad record at each place in turn. */
    for (int bad = 0; bad < 3; bad++) {
        for (int escaped = 0; escaped < 2; escaped++) {
            ex_cw_log_record recs[3];
            ex_cw_log_record *rp[3];
            anyvalue *bodies[3] = {&ba, &bc, &bc};
            bodies[bad] = &nest[0];
            for (int i = 0; i < 3; i++) {
                ex_cw_log_record r = OPENTELEMETRY__PROTO__LOGS__V1__LOG_RECORD__INIT;
                recs[i] = r;
                recs[i].time_unix_nano = (uint64_t)(i + 1) * 1000000u; /* i + 1 ms */
                recs[i].body = bodies[i];
                rp[i] = &recs[i];
            }
            Opentelemetry__Proto__Logs__V1__ScopeLogs sl =
                OPENTELEMETRY__PROTO__LOGS__V1__SCOPE_LOGS__INIT;
            sl.n_log_records = 3;
            sl.log_records = rp;
            Opentelemetry__Proto__Logs__V1__ScopeLogs *slp = &sl;
            Opentelemetry__Proto__Logs__V1__ResourceLogs rl =
                OPENTELEMETRY__PROTO__LOGS__V1__RESOURCE_LOGS__INIT;
            rl.resource = &res;
            rl.n_scope_logs = 1;
            rl.scope_logs = &slp;
            Opentelemetry__Proto__Logs__V1__ResourceLogs *rlp = &rl;
            Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest req =
                OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;
            req.n_resource_logs = 1;
            req.resource_logs = &rlp;
            struct ag_awscloudwatchlogs_config cfg;
            memset(&cfg, 0, sizeof(cfg));
            cfg.log_group_name = (char *)"g-{ServiceName}";
            cfg.log_stream_name = (char *)"s";
            struct ex_cw_logs_batch b;
            ex_cw_logs_batch_init(&b);
            b.escaped = escaped != 0;
            ASSERT_OK(ex_cw_logs_batch_fill(&b, &cfg, &req, 0));
            ASSERT_UEQ(b.n, 2);
            ASSERT_UEQ(b.drops[EX_CW_LOGS_DROP_ENCODE], 1);
            ASSERT_UEQ(b.drops[EX_CW_LOGS_DROP_INVALID_NAME], 0);
            /* By hand: {"body":"a","resource":{"service.name":"svc"}} is 46 bytes (1 + 6 + 1 +
             * 3 + 1 + 10 + 1 + 1 + 14 + 1 + 5 + 1 + 1); with "c\"q" (6 bytes as JSON) 49. */
            static const char *plain[2] = {"{\"body\":\"a\",\"resource\":{\"service.name\":\"svc\"}}",
                                           "{\"body\":\"c\\\"q\",\"resource\":{\"service.name\":"
                                           "\"svc\"}}"};
            static const char *esc[2] = {
                "{\\\"body\\\":\\\"a\\\",\\\"resource\\\":{\\\"service.name\\\":\\\"svc\\\"}}",
                "{\\\"body\\\":\\\"c\\\\\\\"q\\\",\\\"resource\\\":{\\\"service.name\\\":"
                "\\\"svc\\\"}}"};
            size_t k = 0;
            for (int i = 0; i < 3; i++) {
                if (i == bad) {
                    continue;
                }
                const struct ex_cw_event *e = &b.evs[k];
                int which = i == 0 ? 0 : 1; /* record 0 says "a", the others c"q */
                ASSERT_STREQ(e->group, "g-svc");
                ASSERT_STREQ(e->stream, "s");
                ASSERT_EQ(e->timestamp_ms, i + 1);
                ASSERT_UEQ(e->len, which == 0 ? 46 : 49);
                ASSERT_UEQ(strlen(plain[which]), which == 0 ? 46 : 49);
                if (escaped) {
                    ASSERT(e->message == NULL);
                    ASSERT_UEQ(e->escaped_len, strlen(esc[which]));
                    ASSERT(memcmp(e->escaped, esc[which], e->escaped_len) == 0);
                } else {
                    ASSERT(e->escaped == NULL);
                    ASSERT(memcmp(e->message, plain[which], e->len) == 0);
                }
                k++;
            }
            ex_cw_logs_batch_cleanup(&b);
        }
    }
}

AG_TEST_MAIN(AG_TEST_CASE(test_full_record), AG_TEST_CASE(test_minimal_records),
             AG_TEST_CASE(test_shared_parts), AG_TEST_CASE(test_html_safe_offsets),
             AG_TEST_CASE(test_go_encoding), AG_TEST_CASE(test_raw_log),
             AG_TEST_CASE(test_emf_route), AG_TEST_CASE(test_timestamp), AG_TEST_CASE(test_names),
             AG_TEST_CASE(test_batch_fill_encode_drop))
