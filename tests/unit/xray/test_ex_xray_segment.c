/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the span -> X-Ray segment translation, one or more per rule group of xray.md
 * (§15's list). Each input is OTLP/JSON decoded with ag_otlp_json_decode; each expected document
 * is written by hand from the spec and compared semantically after parsing the output with
 * jansson: same keys, numbers within 1e-6, random ids checked for shape ("<id>").
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_arena.h"
#include "ag_buf.h"
#include "ag_mem.h"
#include "ag_otlp_json.h"
#include "ag_test.h"
#include "ex_xray_segment.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

/* The clock of every test: 2023-11-14T22:13:20Z; trace ids below carry this epoch. */
#define NOW  1700000000
#define TID  "6553f1001234567890abcdef12345678"
#define XTID "1-6553f100-1234567890abcdef12345678"
#define SID  "0102030405060708"
#define PID  "1112131415161718"

/* OTLP/JSON builders. */
#define S(k, v)  "{\"key\":\"" k "\",\"value\":{\"stringValue\":\"" v "\"}}"
#define I(k, v)  "{\"key\":\"" k "\",\"value\":{\"intValue\":\"" #v "\"}}"
#define D(k, v)  "{\"key\":\"" k "\",\"value\":{\"doubleValue\":" #v "}}"
#define B(k, v)  "{\"key\":\"" k "\",\"value\":{\"boolValue\":" #v "}}"
#define SA(k, a) "{\"key\":\"" k "\",\"value\":{\"arrayValue\":{\"values\":[" a "]}}}"
#define SV(v)    "{\"stringValue\":\"" v "\"}"
#define REQ(res, span)                                                                         \
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[" res "]},\"scopeSpans\":[{\"scope\":" \
    "{\"name\":\"t\"},\"spans\":[" span "]}]}]}"
/* A span: kind, parent ("" for none), extra members (attributes, events, status...). */
#define SPAN(kind, parent, extra)                                                              \
    "{\"traceId\":\"" TID "\",\"spanId\":\"" SID "\",\"parentSpanId\":\"" parent               \
    "\",\"name\":\"GET /x\",\"kind\":" #kind ",\"startTimeUnixNano\":\"1700000000123456000\"," \
    "\"endTimeUnixNano\":\"1700000001500000000\"" extra "}"
/* ATTRS(a, b, ...) joins up to 10 attributes with commas into an "attributes" member. */
#define ATTRS(...)                                                                  \
    ",\"attributes\":[" JOIN_(__VA_ARGS__, J10, J9, J8, J7, J6, J5, J4, J3, J2, J1, \
                              J0)(__VA_ARGS__) "]"
#define JOIN_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, n, ...) n
#define J1(a)                                                  a
#define J2(a, b)                                               a "," b
#define J3(a, b, c)                                            a "," J2(b, c)
#define J4(a, b, c, d)                                         a "," J3(b, c, d)
#define J5(a, b, c, d, e)                                      a "," J4(b, c, d, e)
#define J6(a, b, c, d, e, f)                                   a "," J5(b, c, d, e, f)
#define J7(a, b, c, d, e, f, g)                                a "," J6(b, c, d, e, f, g)
#define J8(a, b, c, d, e, f, g, h)                             a "," J7(b, c, d, e, f, g, h)
#define J9(a, b, c, d, e, f, g, h, i)                          a "," J8(b, c, d, e, f, g, h, i)
#define J10(a, b, c, d, e, f, g, h, i, j)                      a "," J9(b, c, d, e, f, g, h, i, j)

/* Common expected members (single quotes become double quotes, see expect()). */
#define E_HEAD(name, id)                                                                    \
    "'name':'" name "','id':'" id "','trace_id':'" XTID "','start_time':1700000000.123456," \
    "'end_time':1700000001.5"
#define E_OK   "'fault':false,'error':false,'throttle':false"
#define E_AWS0 "'aws':{'xray':{'auto_instrumentation':false}}"

static struct ex_xray_options opts_default(void)
{
    struct ex_xray_options o = {0};
    o.now_unix_s = NOW;
    return o;
}

/* ---- helpers ---- */

/* jansson allocates through Otter's wrappers, so its strings are freed with ag_free(). */
static void use_ag_alloc(void)
{
    json_set_alloc_funcs(ag_malloc, ag_free);
}

/* Compares |act| with |exp|: same keys, numbers within 1e-6, "<id>" = 16 lowercase hex. */
static bool match(const json_t *exp, const json_t *act, const char *path)
{
    if (act == NULL) {
        printf("# %s: missing\n", path);
        return false;
    }
    if (json_is_string(exp) && strcmp(json_string_value(exp), "<id>") == 0) {
        const char *s = json_string_value(act);
        bool ok = s != NULL && strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16;
        if (!ok) {
            printf("# %s: not a 16-hex id\n", path);
        }
        return ok;
    }
    if (json_is_number(exp)) {
        if (!json_is_number(act) || fabs(json_number_value(exp) - json_number_value(act)) > 1e-6) {
            printf("# %s: number %.9g != %.9g\n", path, json_number_value(exp),
                   json_is_number(act) ? json_number_value(act) : -1.0);
            return false;
        }
        return true;
    }
    if (json_is_object(exp)) {
        if (!json_is_object(act)) {
            printf("# %s: not an object\n", path);
            return false;
        }
        const char *k;
        json_t *v;
        bool ok = true;
        json_object_foreach((json_t *)exp, k, v)
        {
            char sub[512];
            snprintf(sub, sizeof(sub), "%s.%s", path, k);
            ok = match(v, json_object_get(act, k), sub) && ok;
        }
        json_object_foreach((json_t *)act, k, v)
        {
            if (json_object_get(exp, k) == NULL) {
                printf("# %s.%s: unexpected\n", path, k);
                ok = false;
            }
        }
        return ok;
    }
    if (json_is_array(exp)) {
        if (!json_is_array(act) || json_array_size(act) != json_array_size(exp)) {
            printf("# %s: array size differs\n", path);
            return false;
        }
        bool ok = true;
        for (size_t i = 0; i < json_array_size(exp); i++) {
            char sub[512];
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            ok = match(json_array_get(exp, i), json_array_get(act, i), sub) && ok;
        }
        return ok;
    }
    if (!json_equal((json_t *)exp, (json_t *)act)) {
        char *a = json_dumps(act, JSON_ENCODE_ANY), *e = json_dumps(exp, JSON_ENCODE_ANY);
        printf("# %s: %s != %s\n", path, a ? a : "?", e ? e : "?");
        ag_free(a);
        ag_free(e);
        return false;
    }
    return true;
}

/* The output of one translation: its return code and up to 4 parsed documents. */
struct run {
    int rc;
    size_t n;
    json_t *doc[4];
    struct ex_xray_result res;
    char text[256 * 1024];
};

static void run_free(struct run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        json_decref(r->doc[i]);
    }
    ag_free(r);
}

/*
 * Decodes |req| (OTLP/JSON), translates its first span and parses every output line, checking
 * that each is valid JSON that round-trips through jansson. Returns NULL on a harness failure.
 */
static struct run *translate(const char *req, const struct ex_xray_options *o)
{
    char err[256];
    struct ag_arena *arena = ag_arena_new(0);
    ProtobufCMessage *msg = NULL;
    struct run *r = ag_calloc(1, sizeof(*r));
    struct ag_buf out;

    use_ag_alloc();
    ag_buf_init(&out, 1u << 20);
    if (arena == NULL || r == NULL) {
        goto fail;
    }
    if (ag_otlp_json_decode(AG_SIGNAL_TRACES, (const uint8_t *)req, strlen(req), arena, &msg, err,
                            sizeof(err)) != 0) {
        printf("# decode: %s\n", err);
        goto fail;
    }
    const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *tr =
        (const void *)msg;
    const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = tr->resource_spans[0];
    const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[0];
    r->rc = ex_xray_segment_write(o, (const ProtobufCMessage *)rs->resource,
                                  (const ProtobufCMessage *)ss->scope,
                                  (const ProtobufCMessage *)ss->spans[0], &out, &r->res);
    snprintf(r->text, sizeof(r->text), "%s", ag_buf_str(&out));
    const char *p = ag_buf_str(&out);
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        if (nl == NULL || r->n == 4) {
            printf("# output not newline-terminated documents\n");
            goto fail;
        }
        json_error_t je;
        json_t *d = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &je);
        if (d == NULL) {
            printf("# not JSON: %s: %.*s\n", je.text, (int)(nl - p), p);
            goto fail;
        }
        char *again = json_dumps(d, JSON_COMPACT);
        json_t *d2 = again ? json_loads(again, 0, NULL) : NULL;
        bool same = d2 != NULL && json_equal(d, d2);
        ag_free(again);
        json_decref(d2);
        r->doc[r->n++] = d;
        if (!same) {
            printf("# document does not round-trip\n");
            goto fail;
        }
        p = nl + 1;
    }
    ag_buf_cleanup(&out);
    ag_arena_free(arena);
    return r;
fail:
    if (r != NULL) {
        run_free(r);
    }
    ag_buf_cleanup(&out);
    ag_arena_free(arena);
    return NULL;
}

/* Parses |text| written with ' for " (the expectations below) and compares it with |act|. */
static bool expect(const char *text, const json_t *act)
{
    char buf[8192];
    size_t n = strlen(text);

    use_ag_alloc();
    if (n >= sizeof(buf)) {
        return false;
    }
    for (size_t i = 0; i <= n; i++) {
        buf[i] = text[i] == '\'' ? '"' : text[i];
    }
    json_error_t je;
    json_t *e = json_loads(buf, JSON_DECODE_ANY, &je);
    if (e == NULL) {
        printf("# bad expectation: %s: %s\n", je.text, buf);
        return false;
    }
    bool ok = match(e, act, "$");
    if (!ok) {
        char *a = json_dumps(act, JSON_COMPACT | JSON_SORT_KEYS);
        printf("# actual: %s\n", a ? a : "?");
        ag_free(a);
    }
    json_decref(e);
    return ok;
}

/* Runs |req| and expects exactly one document equal to |exp|. */
static bool one(const char *req, const struct ex_xray_options *o, const char *exp)
{
    struct run *r = translate(req, o);
    bool ok = r != NULL && r->rc == 0 && r->n == 1 && expect(exp, r->doc[0]);
    if (r != NULL && (r->rc != 0 || r->n != 1)) {
        printf("# rc %d, %zu documents\n", r->rc, r->n);
    }
    if (r != NULL) {
        run_free(r);
    }
    return ok;
}

/* Runs |req| and returns the value at member |key| of document 0 (a new reference), or NULL. */
static json_t *member(const char *req, const struct ex_xray_options *o, const char *key)
{
    struct run *r = translate(req, o);
    json_t *v = NULL;
    if (r != NULL && r->rc == 0 && r->n >= 1) {
        v = json_incref(json_object_get(r->doc[0], key));
    }
    if (r != NULL) {
        run_free(r);
    }
    return v;
}

static bool member_is(const char *req, const struct ex_xray_options *o, const char *key,
                      const char *exp)
{
    json_t *v = member(req, o, key);
    bool ok;
    if (exp == NULL) {
        ok = v == NULL;
        if (!ok) {
            printf("# %s present, expected absent\n", key);
        }
    } else {
        ok = expect(exp, v);
    }
    json_decref(v);
    return ok;
}

/* ---- §3 trace id ---- */

static void test_trace_id_format_and_window(void)
{
    uint8_t id[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                      0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
    char out[36];
    ASSERT_OK(ex_xray_trace_id(id, 16, false, 0, out));
    ASSERT_STREQ(out, "1-4bf92f35-77b34da6a3ce929d0e0e4736");
    /* 0x4bf92f35 = 1274621749 (2010): rejected when validated. */
    ASSERT_EQ(ex_xray_trace_id(id, 16, true, NOW, out), AG_EPROTO);
    ASSERT_EQ(ex_xray_trace_id(id, 15, false, 0, out), AG_EPROTO);
    int64_t epoch = 0x4bf92f35;
    ASSERT_OK(ex_xray_trace_id(id, 16, true, epoch + 2419200, out));
    ASSERT_EQ(ex_xray_trace_id(id, 16, true, epoch + 2419201, out), AG_EPROTO);
    ASSERT_OK(ex_xray_trace_id(id, 16, true, epoch - 300, out));
    ASSERT_EQ(ex_xray_trace_id(id, 16, true, epoch - 301, out), AG_EPROTO);
}

static void test_w3c_id_dropped_then_skipped(void)
{
    const char *req = REQ("", "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"" SID
                              "\",\"name\":\"a\",\"kind\":2,\"startTimeUnixNano\":\"1\","
                              "\"endTimeUnixNano\":\"2\"}");
    struct ex_xray_options o = opts_default();
    struct run *r = translate(req, &o);
    ASSERT_NOT_NULL(r);
    int rc = r->rc;
    size_t n = r->n, n_docs = r->res.n_docs;
    run_free(r);
    ASSERT_EQ(rc, AG_EPROTO);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(n_docs, 0);
    o.skip_timestamp_validation = true;
    ASSERT(member_is(req, &o, "trace_id", "'1-4bf92f35-77b34da6a3ce929d0e0e4736'"));
}

static void test_bad_link_drops_span(void)
{
    const char *req =
        REQ("", SPAN(2, "",
                     ",\"links\":[{\"traceId\":\"" TID "\",\"spanId\":\"" PID "\"},"
                     "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"" PID "\"}]"));
    struct ex_xray_options o = opts_default();
    struct run *r = translate(req, &o);
    ASSERT_NOT_NULL(r);
    int rc = r->rc;
    run_free(r);
    ASSERT_EQ(rc, AG_EPROTO);
}

static void test_links(void)
{
    const char *req = REQ("", SPAN(2, "",
                                   ",\"links\":[{\"traceId\":\"" TID "\",\"spanId\":\"" PID
                                   "\",\"attributes\":[" S("k", "v") "]}]"));
    struct ex_xray_options o = opts_default();
    ASSERT(member_is(req, &o, "links",
                     "[{'trace_id':'" XTID "','id':'" PID "','attributes':{'k':'v'}}]"));
}

/* ---- §1/§2 minimal document, in_progress ---- */

static void test_minimal_server_segment(void)
{
    struct ex_xray_options o = opts_default();
    ASSERT(one(REQ("", SPAN(2, "", "")), &o, "{" E_HEAD("GET /x", SID) "," E_OK "," E_AWS0 "}"));
}

static void test_in_progress_without_end(void)
{
    const char *req = REQ("", "{\"traceId\":\"" TID "\",\"spanId\":\"" SID
                              "\",\"name\":\"a\",\"kind\":2,\"startTimeUnixNano\":"
                              "\"1700000000000001000\"}");
    struct ex_xray_options o = opts_default();
    ASSERT(one(req, &o,
               "{'name':'a','id':'" SID "','trace_id':'" XTID "','start_time':1700000000.000001,"
               "'in_progress':true," E_OK "," E_AWS0 "}"));
}

/* ---- §4 kind, type, namespace ---- */

static void test_server_with_parent_is_segment(void)
{
    struct ex_xray_options o = opts_default();
    ASSERT(one(REQ("", SPAN(2, PID, "")), &o,
               "{" E_HEAD("GET /x", SID) ",'parent_id':'" PID "'," E_OK "," E_AWS0 "}"));
}

static void test_client_with_parent_is_remote_subsegment(void)
{
    struct ex_xray_options o = opts_default();
    ASSERT(one(REQ("", SPAN(3, PID, "")), &o,
               "{" E_HEAD("GET /x", SID) ",'parent_id':'" PID "','type':'subsegment',"
                                         "'namespace':'remote'," E_OK "," E_AWS0 "}"));
}

static void test_producer_root_is_segment(void)
{
    struct ex_xray_options o = opts_default();
    ASSERT(one(REQ("", SPAN(4, "", "")), &o, "{" E_HEAD("GET /x", SID) "," E_OK "," E_AWS0 "}"));
}

static void test_internal_with_parent_no_namespace(void)
{
    struct ex_xray_options o = opts_default();
    ASSERT(one(REQ("", SPAN(1, PID, "")), &o,
               "{" E_HEAD("GET /x", SID) ",'parent_id':'" PID "','type':'subsegment'," E_OK
                                         "," E_AWS0 "}"));
}

static void test_aws_api_client(void)
{
    struct ex_xray_options o = opts_default();
    const char *req =
        REQ("", SPAN(3, PID,
                     ATTRS(S("rpc.system", "aws-api"), S("aws.remote.service", "AWS::DynamoDB"),
                           S("rpc.method", "GetItem"), S("aws.region", "eu-west-1"),
                           S("aws.request_id", "R1"), SA("aws.dynamodb.table_names", SV("t1")))));
    ASSERT(
        one(req, &o,
            "{" E_HEAD(
                "DynamoDB",
                SID) ",'parent_id':'" PID "','type':'subsegment',"
                     "'namespace':'aws'," E_OK ",'aws':{'operation':'GetItem','region':'eu-west-1',"
                     "'request_id':'R1','table_name':'t1','xray':{'auto_instrumentation':false}},"
                     "'metadata':{'default':{'rpc.system':'aws-api','aws.remote.service':"
                     "'AWS::DynamoDB','aws.dynamodb.table_names':['t1']}}}"));
}

static void test_legacy_aws_service_name(void)
{
    struct ex_xray_options o = opts_default();
    const char *req = REQ("", SPAN(1, PID,
                                   ATTRS(S("aws.service", "S3"), S("rpc.service", "X"),
                                         S("rpc.method", "PutObject"))));
    ASSERT(
        one(req, &o,
            "{" E_HEAD(
                "S3", SID) ",'parent_id':'" PID "','type':'subsegment','namespace':'aws'," E_OK
                           ",'aws':{'operation':'PutObject','xray':{'auto_instrumentation':false}},"
                           "'metadata':{'default':{'aws.service':'S3','rpc.service':'X'}}}"));
}

static void test_consumer_nonroot_remote_service(void)
{
    struct ex_xray_options o = opts_default();
    const char *with = REQ("", SPAN(5, PID, ATTRS(S("aws.remote.service", "q"))));
    const char *without = REQ("", SPAN(5, PID, ""));
    const char *root = REQ("", SPAN(5, "", ATTRS(S("aws.remote.service", "q"))));
    ASSERT(member_is(with, &o, "namespace", "'remote'"));
    ASSERT(member_is(with, &o, "name", "'q'"));
    ASSERT(member_is(with, &o, "type", "'subsegment'"));
    ASSERT(member_is(without, &o, "namespace", NULL));
    ASSERT(member_is(root, &o, "namespace", NULL));
    ASSERT(member_is(root, &o, "type", NULL));
}

/* ---- §4.4 local root ---- */

static void test_local_root_server_and_internal(void)
{
    struct ex_xray_options o = opts_default();
    const char *srv = REQ(
        "", SPAN(2, PID, ATTRS(S("aws.span.kind", "LOCAL_ROOT"), S("aws.local.service", "svc"))));
    const char *internal = REQ(
        "", SPAN(1, PID, ATTRS(S("aws.span.kind", "LOCAL_ROOT"), S("aws.local.service", "svc"))));
    const char *meta = ",'metadata':{'default':{'aws.span.kind':'LOCAL_ROOT',"
                       "'aws.local.service':'svc'}}}";
    char exp[2048];
    snprintf(exp, sizeof(exp),
             "{" E_HEAD("svc", SID) ",'parent_id':'" PID "'," E_OK "," E_AWS0 "%s", meta);
    ASSERT(one(srv, &o, exp));
    ASSERT(one(internal, &o, exp));
}

static void test_local_root_client_split(void)
{
    struct ex_xray_options o = opts_default();
    const char *req =
        REQ(S("service.name", "res-svc"),
            SPAN(3, PID,
                 ATTRS(S("aws.span.kind", "LOCAL_ROOT"), S("aws.local.service", "front"),
                       S("aws.remote.service", "back"), S("http.method", "GET"),
                       S("http.url", "http://back/x"), S("aws.operation", "Op"),
                       S("remoteTarget", "t"), I("n", 3))));
    struct run *r = translate(req, &o);
    ASSERT_NOT_NULL(r);
    bool ok = r->rc == 0 && r->n == 2 && r->res.n_docs == 2;
    const char *new_id = ok ? json_string_value(json_object_get(r->doc[1], "id")) : NULL;
    const char *dep_parent = ok ? json_string_value(json_object_get(r->doc[0], "parent_id")) : NULL;
    ok = ok && new_id != NULL && dep_parent != NULL && strcmp(new_id, dep_parent) == 0;
    ok = ok &&
         expect("{" E_HEAD("back",
                           SID) ",'parent_id':'<id>','type':'subsegment',"
                                "'namespace':'remote','http':{'request':{'method':'GET',"
                                "'url':'http://back/x'},'response':{'content_length':0}}," E_OK ","
                                "'aws':{'operation':'Op','xray':{'auto_instrumentation':false}},"
                                "'metadata':{'default':{'aws.span.kind':'LOCAL_ROOT',"
                                "'aws.local.service':'front','aws.remote.service':'back',"
                                "'remoteTarget':'t','n':3}}}",
                r->doc[0]);
    ok = ok &&
         expect(
             "{" E_HEAD("front",
                        "<id>") ",'parent_id':'" PID "'," E_OK "," E_AWS0 ","
                                "'metadata':{'default':{'otel.resource.service.name':'res-svc'}}}",
             r->doc[1]);
    run_free(r);
    ASSERT(ok);
}

static void test_local_root_aws_sdk_split_keeps_aws(void)
{
    struct ex_xray_options o = opts_default();
    o.index_all_attributes = true;
    const char *req =
        REQ("", SPAN(3, "",
                     ATTRS(S("aws.span.kind", "LOCAL_ROOT"), S("aws.local.service", "front"),
                           S("rpc.system", "aws-api"), S("aws.remote.service", "AWS.SDK.S3"),
                           S("aws.remote.operation", "Get"))));
    struct run *r = translate(req, &o);
    ASSERT_NOT_NULL(r);
    bool ok = r->rc == 0 && r->n == 2;
    ok = ok && expect("'aws'", json_object_get(r->doc[0], "namespace"));
    ok = ok && expect("'S3'", json_object_get(r->doc[0], "name"));
    ok = ok && json_object_get(r->doc[1], "namespace") == NULL &&
         json_object_get(r->doc[1], "parent_id") == NULL;
    /* The service segment keeps annotations except the remote ones. */
    ok = ok && expect("{'aws.span.kind':'LOCAL_ROOT','aws.local.service':'front',"
                      "'rpc.system':'aws-api'}",
                      json_object_get(r->doc[1], "annotations"));
    run_free(r);
    ASSERT(ok);
}

static void test_local_root_consumer_links_on_service(void)
{
    struct ex_xray_options o = opts_default();
    const char *req =
        REQ("", SPAN(5, PID,
                     ATTRS(S("aws.span.kind", "LOCAL_ROOT"), S("aws.local.service", "f"),
                           S("aws.remote.service", "q")) ",\"links\":[{\"traceId\":\"" TID
                                                         "\",\"spanId\":\"" PID "\"}]"));
    struct run *r = translate(req, &o);
    ASSERT_NOT_NULL(r);
    bool ok = r->rc == 0 && r->n == 2 && json_object_get(r->doc[0], "links") == NULL &&
              json_array_size(json_object_get(r->doc[1], "links")) == 1;
    run_free(r);
    ASSERT(ok);
}

/* ---- §5 name ---- */

static void test_name_precedence(void)
{
    struct ex_xray_options o = opts_default();
    /* Each step beats every later one. */
    ASSERT(
        member_is(REQ("", SPAN(2, "", ATTRS(S("aws.local.service", "1"), S("peer.service", "4")))),
                  &o, "name", "'1'"));
    ASSERT(member_is(
        REQ("", SPAN(3, "",
                     ATTRS(S("aws.local.service", "1"), S("aws.remote.service", "AWS.SDK.X"),
                           S("peer.service", "4")))),
        &o, "name", "'AWS.SDK.X'")); /* not aws-api: prefix kept */
    ASSERT(member_is(REQ("", SPAN(3, "", ATTRS(S("peer.service", "4"), S("aws.service", "5")))), &o,
                     "name", "'4'"));
    ASSERT(member_is(REQ("", SPAN(3, "", ATTRS(S("aws.service", "5"), S("db.name", "6")))), &o,
                     "name", "'5'"));
    ASSERT(
        member_is(REQ("", SPAN(3, "",
                               ATTRS(S("db.name", "orders"),
                                     S("db.connection_string", "jdbc:mysql://db.local:3306/orders"),
                                     S("rpc.service", "8")))),
                  &o, "name", "'orders@db.local'"));
    ASSERT(member_is(REQ(S("service.name", "7"), SPAN(2, "", ATTRS(S("rpc.service", "8")))), &o,
                     "name", "'7'"));
    ASSERT(member_is(REQ(S("service.name", "7"), SPAN(3, "", ATTRS(S("rpc.service", "8")))), &o,
                     "name", "'8'"));
    ASSERT(member_is(REQ("", SPAN(3, "", ATTRS(S("http.host", "9"), S("net.peer.name", "10")))), &o,
                     "name", "'9'"));
    ASSERT(member_is(REQ("", SPAN(3, "", ATTRS(S("net.peer.name", "10")))), &o, "name", "'10'"));
    ASSERT(member_is(REQ("", SPAN(1, "", ATTRS(S("aws.local.service", "1")))), &o, "name",
                     "'GET /x'"));
}

static void test_name_aws_prefix_trim(void)
{
    struct ex_xray_options o = opts_default();
    ASSERT(member_is(
        REQ("",
            SPAN(3, "", ATTRS(S("rpc.system", "aws-api"), S("aws.remote.service", "AWS.SDK.SQS")))),
        &o, "name", "'SQS'"));
    ASSERT(member_is(
        REQ("",
            SPAN(3, "", ATTRS(S("rpc.system", "aws-api"), S("aws.remote.service", "AWS::Lambda")))),
        &o, "name", "'Lambda'"));
}

static void test_name_sanitizer(void)
{
    struct ex_xray_options o = opts_default();
    char req[4096], exp[512];
#define NAME_REQ_FMT                                                                              \
    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"" TID "\",\"spanId\":\"" SID \
    "\",\"name\":\"%s\",\"kind\":1,\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}]}]}]}"
    snprintf(req, sizeof(req), NAME_REQ_FMT, "caf\\u00e9 \\u65e5\\u672c <a>!{b}\\\\_.:/%&#=+-@9");
    ASSERT(member_is(req, &o, "name", "'caf\\u00e9 \\u65e5\\u672c ab_.:/%&#=+-@9'"));
    snprintf(req, sizeof(req), NAME_REQ_FMT, "<>!?*");
    ASSERT(member_is(req, &o, "name", "'span'"));
    /* 199 ASCII letters then a 2-byte letter: the letter does not fit in 200 bytes. */
    char long_name[512];
    memset(long_name, 'a', 199);
    memcpy(long_name + 199, "\\u00e9bbb", 10);
    snprintf(req, sizeof(req), NAME_REQ_FMT, long_name);
    snprintf(exp, sizeof(exp), "'%.199s'", long_name);
    ASSERT(member_is(req, &o, "name", exp));
}

/* ---- §6 http ---- */

static void test_http_server_old_names(void)
{
    struct ex_xray_options o = opts_default();
    const char *req =
        REQ("", SPAN(2, "",
                     ATTRS(S("http.method", "GET"), S("http.scheme", "http"),
                           S("http.server_name", "api.local"), I("net.host.port", 8080),
                           S("http.target", "/a?b=1"), S("http.user_agent", "curl"),
                           I("http.status_code", 200), S("net.peer.ip", "10.0.0.1"))));
    ASSERT(one(
        req, &o,
        "{" E_HEAD(
            "GET /x",
            SID) ",'http':{'request':{'method':'GET',"
                 "'url':'http://api.local:8080/a?b=1','user_agent':'curl','client_ip':'10.0.0.1'},"
                 "'response':{'status':200,'content_length':0}}," E_OK "," E_AWS0 "}"));
}

static void test_http_client_new_names(void)
{
    struct ex_xray_options o = opts_default();
    /* server.address for a CLIENT: the newest upstream's rule, Otter's choice (xray.md §14). */
    const char *req =
        REQ("", SPAN(3, PID,
                     ATTRS(S("http.request.method", "POST"), S("url.scheme", "https"),
                           S("server.address", "svc.example"), I("server.port", 8443),
                           S("url.path", "/p"), S("url.query", "q=1"),
                           I("http.response.status_code", 201), S("user_agent.original", "ua"))));
    ASSERT(member_is(req, &o, "http",
                     "{'request':{'method':'POST','url':'https://svc.example:8443/p?q=1',"
                     "'user_agent':'ua'},'response':{'status':201,'content_length':0}}"));
    const char *full =
        REQ("", SPAN(3, PID,
                     ATTRS(S("http.request.method", "GET"), S("url.full", "https://x.example/a"))));
    ASSERT(member_is(full, &o, "http",
                     "{'request':{'method':'GET','url':'https://x.example/a'},"
                     "'response':{'content_length':0}}"));
}

/* URLs around the 512 bytes built on the stack and far past them, built on the heap: every one
 * whole. */
#define LONG_URL_REQ                                                               \
    REQ("", SPAN(3, PID,                                                           \
                 ATTRS(S("http.request.method", "GET"), S("url.scheme", "https"),  \
                       S("server.address", "svc.example"), I("server.port", 8443), \
                       S("url.path", "%s"), S("url.query", "q=1"))))
static void test_http_long_url(void)
{
    static const size_t lens[] = {511, 512, 513, 2000};
    const char *prefix = "https://svc.example:8443", *suffix = "?q=1";
    struct ex_xray_options o = opts_default();
    for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
        /* The path that makes the URL lens[t] bytes: '/' and letters cycling a..z. */
        size_t plen = lens[t] - strlen(prefix) - strlen(suffix);
        char path[2048], want[2100], req[4096];
        path[0] = '/';
        for (size_t i = 1; i < plen; i++) {
            path[i] = (char)('a' + i % 26);
        }
        path[plen] = '\0';
        snprintf(want, sizeof(want), "%s%s%s", prefix, path, suffix);
        ASSERT_UEQ(strlen(want), lens[t]);
        snprintf(req, sizeof(req), LONG_URL_REQ, path);
        json_t *http = member(req, &o, "http");
        const char *got =
            json_string_value(json_object_get(json_object_get(http, "request"), "url"));
        ASSERT(got != NULL);
        ASSERT_STREQ(got, want);
        json_decref(http);
    }
}

static void test_http_ipv6_default_port_and_query(void)
{
    struct ex_xray_options o = opts_default();
    const char *req =
        REQ("", SPAN(3, PID,
                     ATTRS(S("http.request.method", "GET"), S("net.peer.ip", "::1"),
                           I("net.peer.port", 80), S("url.path", "/p"), S("url.query", "?x=1"))));
    ASSERT(member_is(req, &o, "http",
                     "{'request':{'method':'GET','url':'http://[::1]/p?x=1','client_ip':'::1'},"
                     "'response':{'content_length':0}}"));
}

static void test_http_client_ip_preferred(void)
{
    struct ex_xray_options o = opts_default();
    const char *fwd = REQ("", SPAN(2, "",
                                   ATTRS(S("http.method", "GET"), S("http.client_ip", "1.2.3.4"),
                                         S("client.address", "5.6.7.8"))));
    ASSERT(member_is(fwd, &o, "http",
                     "{'request':{'method':'GET','client_ip':'1.2.3.4','x_forwarded_for':true},"
                     "'response':{'content_length':0}}"));
    const char *peer = REQ("", SPAN(2, "",
                                    ATTRS(S("http.method", "GET"), S("http.client_ip", "1.2.3.4"),
                                          S("network.peer.address", "9.9.9.9"))));
    ASSERT(member_is(peer, &o, "http",
                     "{'request':{'method':'GET','client_ip':'1.2.3.4'},"
                     "'response':{'content_length':0}}"));
    const char *bad =
        REQ("", SPAN(2, "", ATTRS(S("http.method", "GET"), S("client.address", "not-an-ip"))));
    ASSERT(
        member_is(bad, &o, "http", "{'request':{'method':'GET'},'response':{'content_length':0}}"));
}

/* client.address counts only when it is an IP address, by inet_pton's rules (glibc is the
 * oracle here; the translator checks IPv4 by hand): client_ip is there exactly when inet_pton
 * takes the text. */
#define CLIENT_ADDRESS_REQ \
    REQ("", SPAN(2, "", ATTRS(S("http.method", "GET"), S("client.address", "%s"))))
static void test_http_client_ip_rules(void)
{
    static const char *const cands[] = {"10.0.0.1",
                                        "0.0.0.0",
                                        "255.255.255.255",
                                        "256.1.1.1",
                                        "010.0.0.1",
                                        "1.2.3.04",
                                        "1.2.3.0",
                                        "1.2.3",
                                        "1.2.3.4.",
                                        "1..2.3",
                                        ".1.2.3",
                                        "1.2.3.4.5",
                                        " 1.2.3.4",
                                        "1.2.3.4 ",
                                        "1.2.3.4:80",
                                        "a.b.c.d",
                                        "",
                                        "::1",
                                        "2001:db8::8a2e:7334",
                                        "::ffff:10.0.0.1",
                                        "fe80::1%1",
                                        "1:2",
                                        "12345",
                                        "1.2.3.255",
                                        "1.2.3.2555"};
    struct ex_xray_options o = opts_default();
    for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
        char req[2048];
        unsigned char tmp[16];
        snprintf(req, sizeof(req), CLIENT_ADDRESS_REQ, cands[i]);
        bool want =
            inet_pton(AF_INET, cands[i], tmp) == 1 || inet_pton(AF_INET6, cands[i], tmp) == 1;
        json_t *http = member(req, &o, "http");
        ASSERT(http != NULL);
        const char *got =
            json_string_value(json_object_get(json_object_get(http, "request"), "client_ip"));
        if ((got != NULL) != want) {
            printf("# %s: client_ip %s, inet_pton says %d\n", cands[i], got ? got : "absent", want);
        }
        ASSERT((got != NULL) == want);
        ASSERT(got == NULL || strcmp(got, cands[i]) == 0);
        json_decref(http);
    }
}

static void test_http_content_length_from_event(void)
{
    struct ex_xray_options o = opts_default();
    const char *req =
        REQ("", SPAN(5, PID,
                     ATTRS(S("http.method",
                             "GET")) ",\"events\":[{\"name\":\"message\","
                                     "\"attributes\":[" S("message.type", "SENT") "," I(
                                         "messaging.message_payload_size_bytes",
                                         5) "]},{\"name\":\"m\","
                                            "\"attributes\":[" S("message.type", "RECEIVED") "," I(
                                                "messaging.message_payload_size_bytes", 42) "]}]"));
    ASSERT(member_is(req, &o, "http",
                     "{'request':{'method':'GET'},'response':{'content_length':42}}"));
}

static void test_http_absent(void)
{
    struct ex_xray_options o = opts_default();
    /* net.peer.name alone is no http attribute: no block, and it stays in metadata. */
    const char *req = REQ("", SPAN(3, PID, ATTRS(S("net.peer.name", "h"))));
    ASSERT(member_is(req, &o, "http", NULL));
    ASSERT(member_is(req, &o, "metadata", "{'default':{'net.peer.name':'h'}}"));
}

/* ---- §7 error / fault / throttle ---- */

static void test_error_fault_matrix(void)
{
    struct ex_xray_options o = opts_default();
    static const struct {
        const char *req, *exp;
    } cases[] = {
        {REQ("", SPAN(2, "", ATTRS(I("http.status_code", 404)))),
         "{'fault':false,'error':true,'throttle':false}"},
        {REQ("", SPAN(2, "", ATTRS(I("http.response.status_code", 429)))),
         "{'fault':false,'error':true,'throttle':true}"},
        {REQ("", SPAN(2, "", ATTRS(I("http.status_code", 404)) ",\"status\":{\"code\":2}")),
         "{'fault':false,'error':true,'throttle':false}"},
        {REQ("", SPAN(2, "", ATTRS(I("http.status_code", 500)))),
         "{'fault':true,'error':false,'throttle':false}"},
        {REQ("", SPAN(2, "", ",\"status\":{\"code\":2}")),
         "{'fault':true,'error':false,'throttle':false}"},
        {REQ("", SPAN(2, "", ATTRS(I("http.status_code", 302)) ",\"status\":{\"code\":2}")),
         "{'fault':true,'error':false,'throttle':false}"},
        {REQ("", SPAN(2, "", ",\"status\":{\"code\":1}")),
         "{'fault':false,'error':false,'throttle':false}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run *r = translate(cases[i].req, &o);
        ASSERT_NOT_NULL(r);
        json_t *flags = json_pack("{s:O,s:O,s:O}", "fault", json_object_get(r->doc[0], "fault"),
                                  "error", json_object_get(r->doc[0], "error"), "throttle",
                                  json_object_get(r->doc[0], "throttle"));
        bool ok = flags != NULL && expect(cases[i].exp, flags);
        json_decref(flags);
        run_free(r);
        if (!ok) {
            printf("# case %zu\n", i);
        }
        ASSERT(ok);
    }
}

/* ---- §8 cause ---- */

#define JAVA_STACK                                                                  \
    "java.lang.IllegalStateException: outer\\n"                                     \
    "\\tat com.example.App.run(App.java:10)\\n"                                     \
    "\\tat java.base/java.lang.Thread.run(Thread.java:833)\\n"                      \
    "\\tat jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)\\n" \
    "Caused by: java.io.IOException: inner cause\\n"                                \
    "\\tat com.example.Io.read(Io.java:42)\\n"                                      \
    "\\t... 3 more\\n"

static void test_cause_java_caused_by(void)
{
    struct ex_xray_options o = opts_default();
    const char *req =
        REQ(S("telemetry.sdk.language", "java"),
            SPAN(2, "",
                 ",\"status\":{\"code\":2},\"events\":[{\"name\":\"exception\",\"attributes\":[" S(
                     "exception.type",
                     "java.lang.IllegalStateException") "," S("exception.message",
                                                              "outer") "," S("exception.stacktrace",
                                                                             JAVA_STACK) "]}]"));
    struct run *r = translate(req, &o);
    ASSERT_NOT_NULL(r);
    json_t *cause = json_object_get(r->doc[0], "cause");
    json_t *ex = json_object_get(cause, "exceptions");
    bool ok = expect("{'exceptions':[{'id':'<id>','type':'java.lang.IllegalStateException',"
                     "'message':'outer','remote':false,'cause':'<id>','stack':["
                     "{'path':'App.java','line':10,'label':'com.example.App.run'},"
                     "{'path':'Thread.java','line':833,'label':'java.lang.Thread.run'},"
                     "{'path':'Native Method','line':0,"
                     "'label':'jdk.internal.reflect.NativeMethodAccessorImpl.invoke0'}]},"
                     "{'id':'<id>','type':'java.io.IOException','message':'inner cause',"
                     "'remote':false,'stack':[{'path':'Io.java','line':42,"
                     "'label':'com.example.Io.read'}]}]}",
                     cause);
    ok = ok && strcmp(json_string_value(json_object_get(json_array_get(ex, 0), "cause")),
                      json_string_value(json_object_get(json_array_get(ex, 1), "id"))) == 0;
    ok = ok && expect("true", json_object_get(r->doc[0], "fault"));
    run_free(r);
    ASSERT(ok);
}

#define PY_STACK                                                              \
    "Traceback (most recent call last):\\n"                                   \
    "  File \\\"/app/db.py\\\", line 3, in connect\\n"                        \
    "    raise OSError(\\\"down\\\")\\n"                                      \
    "OSError: down\\n"                                                        \
    "\\n"                                                                     \
    "The above exception was the direct cause of the following exception:\\n" \
    "\\n"                                                                     \
    "Traceback (most recent call last):\\n"                                   \
    "  File \\\"/app/main.py\\\", line 14, in <module>\\n"                    \
    "    main()\\n"                                                           \
    "  File \\\"/app/main.py\\\", line 9, in main\\n"                         \
    "    raise ValueError(\\\"bad\\\") from e\\n"                             \
    "ValueError: bad\\n"

static void test_cause_python_chained(void)
{
    struct ex_xray_options o = opts_default();
    const char *req =
        REQ(S("telemetry.sdk.language", "python"),
            SPAN(3, PID,
                 ",\"events\":[{\"name\":\"exception\",\"attributes\":[" S(
                     "exception.type", "ValueError") "," S("exception.message",
                                                           "bad") "," S("exception.stacktrace",
                                                                        PY_STACK) "]}]"));
    ASSERT(member_is(req, &o, "cause",
                     "{'exceptions':[{'id':'<id>','type':'ValueError','message':'bad',"
                     "'remote':true,'cause':'<id>','stack':["
                     "{'path':'/app/main.py','line':9,'label':'main'},"
                     "{'path':'/app/main.py','line':14,'label':'<module>'}]},"
                     "{'id':'<id>','type':'OSError','message':'down','remote':true,"
                     "'stack':[{'path':'/app/db.py','line':3,'label':'connect'}]}]}"));
}

static void test_cause_js_and_dotnet(void)
{
    struct ex_xray_options o = opts_default();
    const char *js =
        REQ(S("telemetry.sdk.language", "nodejs"),
            SPAN(2, "",
                 ",\"events\":[{\"name\":\"exception\",\"attributes\":[" S(
                     "exception.type",
                     "TypeErro"
                     "r") "," S("exception.stacktrace",
                                "TypeError: x is undefined\\n    at handler (/srv/app.js:10:5)\\n"
                                "    at /srv/node_modules/lib/index.js:3:1") "]}]"));
    ASSERT(member_is(js, &o, "cause",
                     "{'exceptions':[{'id':'<id>','type':'TypeError','message':'',"
                     "'remote':false,'stack':["
                     "{'path':'/srv/app.js','line':10,'label':'handler'},"
                     "{'path':'/srv/node_modules/lib/index.js','line':3}]}]}"));
    const char *dn = REQ(
        S("telemetry.sdk.language", "dotnet"),
        SPAN(2, "",
             ",\"events\":[{\"name\":\"exception\",\"attributes\":[" S(
                 "exception.type", "System.Exception") "," S("exception.stacktrace",
                                                             "System.Exception: boom\\n   at "
                                                             "App.Program.Main(String[] args) in "
                                                             "/src/Program.cs:line 12") "]}]"));
    ASSERT(member_is(dn, &o, "cause",
                     "{'exceptions':[{'id':'<id>','type':'System.Exception','message':'',"
                     "'remote':false,'stack':[{'path':'/src/Program.cs','line':12,"
                     "'label':'App.Program.Main(String[] args)'}]}]}"));
}

static void test_cause_go(void)
{
    struct ex_xray_options o = opts_default();
    const char *req = REQ(
        S("telemetry.sdk.language", "go"),
        SPAN(2, "",
             ",\"events\":[{\"name\":\"exception\",\"attributes\":[" S(
                 "exception.type", "*errors.errorString") "," S("exception.stacktrace",
                                                                "panic: boom\\n\\ngoroutine 1 "
                                                                "[running]:\\nmain.(*T).run(0x1, "
                                                                "0x2)\\n\\t/src/main.go:12 "
                                                                "+0x1d\\nmain.main()\\n\\t/src/"
                                                                "main.go:20 +0x25\\n") "]}]"));
    ASSERT(member_is(req, &o, "cause",
                     "{'exceptions':[{'id':'<id>','type':'*errors.errorString','message':'',"
                     "'remote':false,'stack':["
                     "{'path':'/src/main.go','line':12,'label':'main.(*T).run'},"
                     "{'path':'/src/main.go','line':20,'label':'main.main'}]}]}"));
}

static void test_cause_without_error_and_other_events(void)
{
    struct ex_xray_options o = opts_default();
    /* Unknown language: no stack. Non-exception events are ignored. */
    const char *req =
        REQ("", SPAN(3, PID,
                     ",\"events\":[{\"name\":\"log\"},{\"name\":"
                     "\"exception\",\"attributes\":[" S("exception.message", "m") "]}]"));
    ASSERT(member_is(req, &o, "cause",
                     "{'exceptions':[{'id':'<id>','type':'','message':'m','remote':true}]}"));
    ASSERT(member_is(req, &o, "fault", "false"));
    const char *none = REQ("", SPAN(3, PID, ",\"events\":[{\"name\":\"log\"}]"));
    ASSERT(member_is(none, &o, "cause", NULL));
}

static void test_cause_from_status(void)
{
    struct ex_xray_options o = opts_default();
    const char *msg = REQ("", SPAN(2, "", ",\"status\":{\"code\":2,\"message\":\"oops\"}"));
    ASSERT(member_is(msg, &o, "cause", "{'exceptions':[{'id':'<id>','message':'oops'}]}"));
    const char *text =
        REQ("", SPAN(2, "", ATTRS(S("http.status_text", "Bad Thing")) ",\"status\":{\"code\":2}"));
    ASSERT(member_is(text, &o, "cause", "{'exceptions':[{'id':'<id>','message':'Bad Thing'}]}"));
    ASSERT(member_is(text, &o, "metadata", NULL));
}

static void test_cause_aws_sdk_failure_event(void)
{
    struct ex_xray_options o = opts_default();
    const char *req = REQ(
        "", SPAN(3, PID,
                 ATTRS(S("rpc.system",
                         "aws-api")) ",\"events\":[{\"name\":\"HTTP "
                                     "request failure\",\"timeUnixNano\":\"1700000000500000000\","
                                     "\"attributes\":[" I("http.response.status_code", 503) "," S(
                                         "aws.http.error_message", "slow down") "]}]"));
    ASSERT(member_is(req, &o, "cause",
                     "{'exceptions':[{'id':'<id>','type':'aws.http.error.event',"
                     "'message':'503@1700000000.500000@slow down','remote':true}]}"));
}

/* ---- §9 aws block, §10 origin ---- */

static void test_origin_rows(void)
{
    struct ex_xray_options o = opts_default();
    ASSERT(member_is(REQ(S("cloud.platform", "aws_app_runner"), SPAN(2, "", "")), &o, "origin",
                     "'AWS::AppRunner::Service'"));
    ASSERT(member_is(REQ(S("cloud.platform", "aws_eks"), SPAN(2, "", "")), &o, "origin",
                     "'AWS::EKS::Container'"));
    ASSERT(member_is(REQ(S("cloud.platform", "aws_elastic_beanstalk"), SPAN(2, "", "")), &o,
                     "origin", "'AWS::ElasticBeanstalk::Environment'"));
    ASSERT(member_is(
        REQ(S("cloud.platform", "aws_ecs") "," S("aws.ecs.launchtype", "ec2"), SPAN(2, "", "")), &o,
        "origin", "'AWS::ECS::EC2'"));
    ASSERT(member_is(
        REQ(S("cloud.platform", "aws_ecs") "," S("aws.ecs.launchtype", "fargate"), SPAN(2, "", "")),
        &o, "origin", "'AWS::ECS::Fargate'"));
    ASSERT(member_is(REQ(S("cloud.platform", "aws_ecs"), SPAN(2, "", "")), &o, "origin",
                     "'AWS::ECS::Container'"));
    ASSERT(member_is(REQ(S("cloud.platform", "aws_ec2"), SPAN(2, "", "")), &o, "origin",
                     "'AWS::EC2::Instance'"));
    ASSERT(member_is(REQ(S("k8s.cluster.name", "c"), SPAN(2, "", "")), &o, "origin", NULL));
    ASSERT(member_is(
        REQ(S("cloud.provider", "gcp") "," S("cloud.platform", "aws_ec2"), SPAN(2, "", "")), &o,
        "origin", NULL));
    /* Origin is written on subsegments too. */
    ASSERT(member_is(REQ(S("cloud.platform", "aws_ec2"), SPAN(3, PID, "")), &o, "origin",
                     "'AWS::EC2::Instance'"));
}

static void test_gcp_has_no_aws_block(void)
{
    struct ex_xray_options o = opts_default();
    ASSERT(one(REQ(S("cloud.provider", "gcp"), SPAN(2, "", "")), &o,
               "{" E_HEAD("GET /x",
                          SID) "," E_OK ","
                               "'metadata':{'default':{'otel.resource.cloud.provider':'gcp'}}}"));
}

static void test_aws_resource_objects(void)
{
    struct ex_xray_options o = opts_default();
    const char *req =
        REQ(J10(S("cloud.provider", "aws"), S("cloud.platform", "aws_eks"), S("host.id", "i-1"),
                S("cloud.availability_zone", "az1"), S("k8s.cluster.name", "c1"),
                S("k8s.pod.name", "p1"), S("cloud.account.id", "123"),
                S("telemetry.sdk.name", "opentelemetry"), S("telemetry.sdk.language", "java"),
                S("telemetry.sdk.version", "1.2")) "," J2(S("telemetry.auto.version", "2.0"),
                                                          S("service.version", "v9")),
            SPAN(3, PID, ""));
    ASSERT(member_is(req, &o, "aws",
                     "{'account_id':'123','ec2':{'instance_id':'i-1','availability_zone':'az1',"
                     "'instance_size':null,'ami_id':null},'eks':{'cluster_name':'c1','pod':'p1',"
                     "'container_id':null},'xray':{'sdk':'opentelemetry for java',"
                     "'sdk_version':'1.2','auto_instrumentation':true}}"));
    ASSERT(member_is(req, &o, "service", "{'version':'v9'}"));
    const char *ecs =
        REQ(S("cloud.platform", "aws_ecs") "," S("aws.ecs.launchtype", "fargate") "," S(
                "aws.ecs.task.arn", "arn:t") "," S("container.id", "cid"),
            SPAN(3, PID, ""));
    ASSERT(member_is(ecs, &o, "aws",
                     "{'ecs':{'container_id':'cid','task_arn':'arn:t','launch_type':'fargate'},"
                     "'xray':{'auto_instrumentation':false}}"));
    const char *eb = REQ(S("cloud.platform", "aws_elastic_beanstalk") "," S(
                             "service.instance.id", "42") "," S("service.namespace", "env"),
                         SPAN(3, PID, ""));
    ASSERT(member_is(eb, &o, "aws",
                     "{'elastic_beanstalk':{'environment_name':'env','version_label':null,"
                     "'deployment_id':42},'xray':{'auto_instrumentation':false}}"));
}

static void test_dynamodb_tables(void)
{
    struct ex_xray_options o = opts_default();
    const char *several = REQ("", SPAN(3, PID,
                                       ATTRS(SA("aws.dynamodb.table_names", SV("a") "," SV("b")),
                                             S("aws.table_name", "ignored"))));
    ASSERT(member_is(several, &o, "aws",
                     "{'table_names':['a','b'],'xray':{'auto_instrumentation':false}}"));
    ASSERT(
        member_is(several, &o, "metadata", "{'default':{'aws.dynamodb.table_names':['a','b']}}"));
    const char *legacy = REQ("", SPAN(3, PID,
                                      ATTRS(S("aws.table.name", "t"), S("aws.queue_url", "q1"),
                                            S("messaging.url", "q2"))));
    ASSERT(member_is(legacy, &o, "aws",
                     "{'table_name':'t','queue_url':'q2','xray':{'auto_instrumentation':false}}"));
}

static void test_log_groups(void)
{
    struct ex_xray_options o = opts_default();
    const char *groups[] = {"g1", "g2"};
    o.aws_log_groups = groups;
    o.n_aws_log_groups = 2;
    ASSERT(member_is(REQ("", SPAN(2, "", "")), &o, "aws",
                     "{'cloudwatch_logs':[{'log_group':'g1'},{'log_group':'g2'}],"
                     "'xray':{'auto_instrumentation':false}}"));
    const char *arns =
        REQ(SA("aws.log.group.arns", SV("arn:aws:logs:us-east-1:123:log-group:app:*") "," SV(
                                         "arn:aws:logs:us-east-1:123:log-group:b")),
            SPAN(3, PID, ""));
    ASSERT(member_is(arns, &o, "aws",
                     "{'cloudwatch_logs':[{'log_group':'app',"
                     "'arn':'arn:aws:logs:us-east-1:123:log-group:app:*'},{'log_group':'b',"
                     "'arn':'arn:aws:logs:us-east-1:123:log-group:b'}],"
                     "'xray':{'auto_instrumentation':false}}"));
    const char *names = REQ(S("aws.log.group.names", "x&y"), SPAN(3, PID, ""));
    ASSERT(member_is(names, &o, "aws",
                     "{'cloudwatch_logs':[{'log_group':'x'},{'log_group':'y'}],"
                     "'xray':{'auto_instrumentation':false}}"));
}

static void test_user(void)
{
    struct ex_xray_options o = opts_default();
    const char *req = REQ("", SPAN(2, "", ATTRS(S("enduser.id", "alice"))));
    ASSERT(member_is(req, &o, "user", "'alice'"));
    ASSERT(member_is(req, &o, "metadata", NULL));
}

/* ---- §9.4 sql ---- */

static void test_sql(void)
{
    struct ex_xray_options o = opts_default();
    const char *mysql = REQ("", SPAN(3, PID,
                                     ATTRS(S("db.system", "mysql"), S("db.name", "shop"),
                                           S("db.connection_string", "mysql://db:3306"),
                                           S("db.user", "u"), S("db.statement", "SELECT 1"))));
    ASSERT(member_is(mysql, &o, "sql",
                     "{'url':'GET /x','connection_string':'mysql://db:3306/shop',"
                     "'database_type':'mysql','user':'u','sanitized_query':'SELECT 1'}"));
    ASSERT(member_is(mysql, &o, "metadata", NULL));
    ASSERT(member_is(mysql, &o, "name", "'shop@db'"));
    const char *nocs =
        REQ("", SPAN(3, PID, ATTRS(S("db.system", "postgresql"), S("db.name", "d"))));
    ASSERT(member_is(nocs, &o, "sql",
                     "{'url':'GET /x','connection_string':'localhost/d',"
                     "'database_type':'postgresql'}"));
    const char *redis =
        REQ("", SPAN(3, PID, ATTRS(S("db.system", "redis"), S("db.statement", "GET k"))));
    ASSERT(member_is(redis, &o, "sql", NULL));
    ASSERT(member_is(redis, &o, "metadata",
                     "{'default':{'db.system':'redis','db.statement':'GET k'}}"));
}

/* ---- §11 annotations and metadata ---- */

static void test_metadata_default_and_types(void)
{
    struct ex_xray_options o = opts_default();
    const char *req =
        REQ(S("service.name", "svc"),
            SPAN(2, "",
                 ATTRS(S("s", "v"), I("i", 7), D("d", 1.5), B("b", true), SA("arr", SV("x")),
                       "{\"key\":\"m\",\"value\":{\"kvlistValue\":{\"values\":[" S("k", "v") "]}}}",
                       "{\"key\":\"empty\",\"value\":{}}")));
    ASSERT(member_is(req, &o, "metadata",
                     "{'default':{'s':'v','i':7,'d':1.5,'b':true,'arr':['x'],'m':{'k':'v'},"
                     "'otel.resource.service.name':'svc'}}"));
    ASSERT(member_is(req, &o, "annotations", NULL));
    /* A subsegment carries no resource attributes. */
    ASSERT(member_is(REQ(S("service.name", "svc"), SPAN(3, PID, "")), &o, "metadata", NULL));
}

/* A span attribute named like a prefixed resource one comes first and wins; the resource's is
 * left out rather than written twice (a JSON object has each key once). */
static void test_metadata_span_key_like_resource_key(void)
{
    struct ex_xray_options o = opts_default();
    const char *req = REQ(S("service.name", "svc") "," S("host.name", "h"),
                          SPAN(2, "", ATTRS(S("s", "v"), S("otel.resource.service.name", "span"))));
    ASSERT(member_is(req, &o, "metadata",
                     "{'default':{'s':'v','otel.resource.service.name':'span',"
                     "'otel.resource.host.name':'h'}}"));
}

static void test_annotations_indexed(void)
{
    struct ex_xray_options o = opts_default();
    const char *idx[] = {"a.b", "aws.operation", "otel.resource.service.name", "arr"};
    o.indexed_attributes = idx;
    o.n_indexed_attributes = 4;
    const char *req = REQ(S("service.name", "svc"),
                          SPAN(2, "",
                               ATTRS(S("a.b", "1"), S("c-d", "2"), S("aws.operation", "Op"),
                                     SA("arr", SV("x")), SA("aws.xray.annotations", SV("c-d")))));
    ASSERT(member_is(req, &o, "annotations",
                     "{'a.b':'1','c_d':'2','aws.operation':'Op',"
                     "'otel.resource.service.name':'svc'}"));
    ASSERT(member_is(req, &o, "metadata", "{'default':{'arr':['x']}}"));
    o.disallow_dot = true;
    ASSERT(member_is(req, &o, "annotations",
                     "{'a_b':'1','c_d':'2','aws_operation':'Op',"
                     "'otel_resource_service_name':'svc'}"));
}

static void test_index_all(void)
{
    struct ex_xray_options o = opts_default();
    o.index_all_attributes = true;
    const char *req =
        REQ(S("r", "x"), SPAN(2, "", ATTRS(S("k.é", "v"), I("n", 1), SA("arr", SV("x")))));
    struct run *r = translate(req, &o);
    ASSERT_NOT_NULL(r);
    bool ok = r->rc == 0 && r->res.dropped_attributes == 1 &&
              expect("{'k._':'v','n':1,'otel.resource.r':'x'}",
                     json_object_get(r->doc[0], "annotations")) &&
              json_object_get(r->doc[0], "metadata") == NULL;
    run_free(r);
    ASSERT(ok);
}

static void test_metadata_namespaces(void)
{
    struct ex_xray_options o = opts_default();
    const char *req = REQ(
        "", SPAN(2, "",
                 ATTRS(S("aws.xray.metadata.app", "{\\\"a\\\": [1, {\\\"b\\\": null}]}"),
                       S("aws.xray.metadata.bad", "{nope"),
                       S("aws.xray.metadata.default",
                         "{\\\"x\\\": 1, \\\"k\\\\u00e9\\\\n\\\": {\\\"z\\\": [true]}}"),
                       S("aws.xray.metadata.nul", "{\\\"a\\\": \\\"\\\\u0000\\\"}"), S("x", "y"))));
    /* default merges (the attribute "x" wins the clash); \u0000 is refused, kept as text. */
    ASSERT(member_is(req, &o, "metadata",
                     "{'default':{'x':'y','aws.xray.metadata.bad':'{nope',"
                     "'k\\u00e9\\n':{'z':[true]},"
                     "'aws.xray.metadata.nul':'{\\'a\\': \\'\\\\u0000\\'}'},"
                     "'app':{'a':[1,{'b':null}]}}"));
}

/* ---- §14 64 kB limit ---- */

static void test_oversize_drops_metadata_then_document(void)
{
    struct ex_xray_options o = opts_default();
    size_t big = 70 * 1024;
    char *req = ag_malloc(big + 1024), *val = ag_malloc(big + 1);
    ASSERT_NOT_NULL(req);
    ASSERT_NOT_NULL(val);
    memset(val, 'x', big);
    val[big] = '\0';
    snprintf(req, big + 1024, REQ("", SPAN(2, "", ATTRS(S("big", "%s")))), val);
    struct run *r = translate(req, &o);
    bool ok = r != NULL && r->rc == 0 && r->res.trimmed_docs == 1 &&
              json_object_get(r->doc[0], "metadata") == NULL;
    if (r != NULL) {
        run_free(r);
    }
    const char *idx[] = {"big"};
    o.indexed_attributes = idx;
    o.n_indexed_attributes = 1;
    r = translate(req, &o);
    ok = ok && r != NULL && r->rc == AG_ETOOBIG && r->n == 0;
    if (r != NULL) {
        run_free(r);
    }
    ag_free(req);
    ag_free(val);
    ASSERT(ok);
}

static void test_huge_name_is_too_big(void)
{
    struct ex_xray_options o = opts_default();
    size_t big = 200 * 1024;
    char *req = ag_malloc(big + 1024), *val = ag_malloc(big + 1);
    ASSERT_NOT_NULL(req);
    ASSERT_NOT_NULL(val);
    memset(val, 'd', big);
    val[big] = '\0';
    snprintf(req, big + 1024,
             REQ("", SPAN(3, PID, ATTRS(S("db.name", "%s"), S("db.connection_string", "x://h")))),
             val);
    struct run *r = translate(req, &o);
    bool ok = r != NULL && r->rc == AG_ETOOBIG && r->n == 0;
    if (r != NULL) {
        run_free(r);
    }
    ag_free(req);
    ag_free(val);
    ASSERT(ok);
}

/*
 * With -Dfailmalloc=true: fail the Nth allocation for every N until a rich span (local-root
 * split, Java cause, http, metadata namespaces) translates; each failure must be a clean
 * AG_ENOMEM that leaves |out| empty (the sanitizer builds check for leaks). Without failmalloc
 * the first attempt succeeds.
 */
static void test_failmalloc(void)
{
    const char *req = REQ(
        J3(S("telemetry.sdk.language", "java"), S("service.name", "s"),
           S("cloud.platform", "aws_ec2")),
        SPAN(3, PID,
             ATTRS(S("aws.span.kind", "LOCAL_ROOT"), S("aws.local.service", "f"),
                   S("aws.remote.service", "b"), S("http.method", "GET"), S("server.address", "h"),
                   S("db.name", "d"), S("db.connection_string", "x://h"),
                   S("aws.xray.metadata.default", "{\\\"k\\\": 1}"),
                   S("aws.xray.metadata.ns", "{\\\"k\\\": 1}"),
                   S("a.b", "c")) ",\"events\":["
                                  "{\"name\":"
                                  "\"exception\","
                                  "\"attributes\":[" S("exception."
                                                       "stacktrace",
                                                       JAVA_STACK) "]}]"));
    char err[256];
    struct ag_arena *arena = ag_arena_new(0);
    ProtobufCMessage *msg = NULL;
    ASSERT_NOT_NULL(arena);
    ASSERT_OK(ag_otlp_json_decode(AG_SIGNAL_TRACES, (const uint8_t *)req, strlen(req), arena, &msg,
                                  err, sizeof(err)));
    const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *tr =
        (const void *)msg;
    const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = tr->resource_spans[0];
    const ProtobufCMessage *span = (const void *)rs->scope_spans[0]->spans[0];
    struct ex_xray_options o = opts_default();
    const char *idx[] = {"a.b", "otel.resource.service.name"};
    o.indexed_attributes = idx;
    o.n_indexed_attributes = 2;
    int rc = -100, done = 0;
    size_t docs = 0;
    for (long n = 0; n < 100000 && !done; n++) {
        struct ag_buf out;
        struct ex_xray_result res;
        ag_buf_init(&out, 1u << 20);
        ag_mem_fail_after(n);
        rc = ex_xray_segment_write(&o, (const ProtobufCMessage *)rs->resource, NULL, span, &out,
                                   &res);
        ag_mem_fail_after(-1);
        if (rc == 0) {
            done = 1;
            docs = res.n_docs;
        } else if (rc != AG_ENOMEM || out.len != 0 || res.n_docs != 0) {
            printf("# allocation %ld: rc %d, %zu bytes, %zu documents\n", n, rc, out.len,
                   res.n_docs);
            rc = -100;
        }
        ag_buf_cleanup(&out);
        if (rc != 0 && rc != AG_ENOMEM) {
            break;
        }
    }
    ag_arena_free(arena);
    ASSERT_OK(rc);
    ASSERT(done);
    ASSERT_EQ(docs, 2);
}

static uint64_t counting_random(void *ctx)
{
    return ++*(uint64_t *)ctx;
}

/* Translates the first span of |req| into |out| as text (no parsing). */
static int write_text(const char *req, const struct ex_xray_options *o, struct ag_buf *out,
                      struct ex_xray_result *res)
{
    char err[256];
    struct ag_arena *arena = ag_arena_new(0);
    ProtobufCMessage *msg = NULL;
    int rc = AG_ENOMEM;
    if (arena != NULL &&
        (rc = ag_otlp_json_decode(AG_SIGNAL_TRACES, (const uint8_t *)req, strlen(req), arena, &msg,
                                  err, sizeof(err))) == 0) {
        const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *tr =
            (const void *)msg;
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = tr->resource_spans[0];
        const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[0];
        rc = ex_xray_segment_write(o, (const ProtobufCMessage *)rs->resource,
                                   (const ProtobufCMessage *)ss->scope,
                                   (const ProtobufCMessage *)ss->spans[0], out, res);
    }
    ag_arena_free(arena);
    return rc;
}

/*
 * Compares, line by line, |esc| (the escaped option's output) with jansson's encoding of each
 * line of |plain| as a JSON string, without its quotes: an encoder independent of ag_json.
 */
static bool escaped_matches(const struct ag_buf *plain, const struct ag_buf *esc)
{
    const char *p = ag_buf_str(plain), *e = ag_buf_str(esc);
    bool ok = plain->len > 0;
    while (ok && *p != '\0') {
        const char *pn = strchr(p, '\n'), *en = strchr(e, '\n');
        json_t *str = pn != NULL ? json_stringn(p, (size_t)(pn - p)) : NULL;
        char *want = str != NULL ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
        ok = want != NULL && en != NULL && strlen(want) == (size_t)(en - e) + 2 &&
             memcmp(want + 1, e, (size_t)(en - e)) == 0;
        if (!ok) {
            printf("# escaped: %.*s\n# want:    %s\n", en ? (int)(en - e) : 0, e,
                   want ? want : "?");
        }
        ag_free(want);
        json_decref(str);
        p = pn != NULL ? pn + 1 : p;
        e = en != NULL ? en + 1 : e;
    }
    return ok && *e == '\0';
}

/*
 * The escaped option (the awsxray exporter's form): each document is the plain one escaped as a
 * JSON string's content. A local-root split (two documents), strings with quotes, backslashes,
 * controls and non-ASCII, a metadata namespace (raw JSON) and a Java cause.
 */
static void test_escaped_option(void)
{
    static const char req[] =
        REQ(S("service.name", "svc \\\"q\\\""),
            SPAN(3, PID,
                 ATTRS(S("aws.span.kind", "LOCAL_ROOT"), S("aws.remote.service", "r\\\\s\\u0001"),
                       S("http.url", "http://h/\\\"p\\\"?\\u00e9=\\u20ac"),
                       S("k\\\"ey", "tab\\there\\nnew\\u001f"),
                       S("aws.xray.metadata.ns", "{ \\\"a\\\" : [1, \\\"x\\\\\\\\y\\\"] }"),
                       I("http.status_code",
                         500)) ",\"events\":[{\"name\":\"exception\","
                               "\"attributes\":[" S("exception.type", "E\\\"") "," S(
                                   "exception.stacktrace",
                                   "java.lang.E: m\\n\\tat a.B.c(B.java:1)\\n") "]}]"));
    struct ex_xray_options o = opts_default();
    uint64_t counter = 0;
    struct ag_buf plain, esc;
    struct ex_xray_result rp, re;
    o.random = counting_random;
    o.random_ctx = &counter;
    ag_buf_init(&plain, 1u << 20);
    ag_buf_init(&esc, 1u << 20);
    use_ag_alloc();
    ASSERT_OK(write_text(req, &o, &plain, &rp));
    ASSERT_UEQ(rp.n_docs, 2);
    counter = 0;
    o.escaped = true;
    ASSERT_OK(write_text(req, &o, &esc, &re));
    ASSERT_UEQ(re.n_docs, 2);
    ASSERT(escaped_matches(&plain, &esc));
    ag_buf_cleanup(&plain);
    ag_buf_cleanup(&esc);
}

/*
 * The 64 kB limit counts the plain document in both forms: 20,000 quotes make a ~40 kB plain
 * document (each one escaped once) that is ~80 kB escaped, sent whole; 33,000 make it pass
 * 64 kB, so the metadata goes in both forms.
 */
static void test_escaped_limit_counts_plain_bytes(void)
{
    static const size_t sizes[] = {20000, 33000};
    for (size_t k = 0; k < 2; k++) {
        size_t n = sizes[k];
        char *req = ag_malloc(2 * n + 1024), *val = ag_malloc(2 * n + 1);
        ASSERT_NOT_NULL(req);
        ASSERT_NOT_NULL(val);
        for (size_t i = 0; i < n; i++) {
            memcpy(val + 2 * i, "\\\"", 2); /* \" in the OTLP/JSON input: one quote */
        }
        val[2 * n] = '\0';
        snprintf(req, 2 * n + 1024, REQ("", SPAN(2, "", ATTRS(S("big", "%s")))), val);
        for (int escaped = 0; escaped < 2; escaped++) {
            struct ex_xray_options o = opts_default();
            struct ex_xray_result res;
            struct ag_buf out;
            o.escaped = escaped;
            ag_buf_init(&out, 1u << 20);
            ASSERT_OK(write_text(req, &o, &out, &res));
            ASSERT_UEQ(res.n_docs, 1);
            ASSERT_UEQ(res.trimmed_docs, k);
            ASSERT(escaped ? out.len > 64u * 1024 * (1 - k) : out.len <= 64u * 1024 + 1);
            ag_buf_cleanup(&out);
        }
        ag_free(req);
        ag_free(val);
    }
}

static void test_bad_arguments(void)
{
    struct ag_buf out;
    ag_buf_init(&out, 1024);
    ASSERT_EQ(ex_xray_segment_write(NULL, NULL, NULL, NULL, &out, NULL), AG_EINVAL);
    Opentelemetry__Proto__Trace__V1__Status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    ASSERT_EQ(ex_xray_segment_write(NULL, NULL, NULL, &st.base, &out, NULL), AG_EINVAL);
    Opentelemetry__Proto__Trace__V1__Span sp = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    ASSERT_EQ(ex_xray_segment_write(NULL, NULL, NULL, &sp.base, &out, NULL), AG_EPROTO);
    ASSERT_EQ(out.len, 0);
    ag_buf_cleanup(&out);
}

AG_TEST_MAIN(
    AG_TEST_CASE(test_trace_id_format_and_window), AG_TEST_CASE(test_w3c_id_dropped_then_skipped),
    AG_TEST_CASE(test_bad_link_drops_span), AG_TEST_CASE(test_links),
    AG_TEST_CASE(test_minimal_server_segment), AG_TEST_CASE(test_in_progress_without_end),
    AG_TEST_CASE(test_server_with_parent_is_segment),
    AG_TEST_CASE(test_client_with_parent_is_remote_subsegment),
    AG_TEST_CASE(test_producer_root_is_segment),
    AG_TEST_CASE(test_internal_with_parent_no_namespace), AG_TEST_CASE(test_aws_api_client),
    AG_TEST_CASE(test_legacy_aws_service_name), AG_TEST_CASE(test_consumer_nonroot_remote_service),
    AG_TEST_CASE(test_local_root_server_and_internal), AG_TEST_CASE(test_local_root_client_split),
    AG_TEST_CASE(test_local_root_aws_sdk_split_keeps_aws),
    AG_TEST_CASE(test_local_root_consumer_links_on_service), AG_TEST_CASE(test_name_precedence),
    AG_TEST_CASE(test_name_aws_prefix_trim), AG_TEST_CASE(test_name_sanitizer),
    AG_TEST_CASE(test_http_server_old_names), AG_TEST_CASE(test_http_client_new_names),
    AG_TEST_CASE(test_http_ipv6_default_port_and_query),
    AG_TEST_CASE(test_http_client_ip_preferred), AG_TEST_CASE(test_http_client_ip_rules),
    AG_TEST_CASE(test_http_long_url), AG_TEST_CASE(test_http_content_length_from_event),
    AG_TEST_CASE(test_http_absent), AG_TEST_CASE(test_error_fault_matrix),
    AG_TEST_CASE(test_cause_java_caused_by), AG_TEST_CASE(test_cause_python_chained),
    AG_TEST_CASE(test_cause_js_and_dotnet), AG_TEST_CASE(test_cause_go),
    AG_TEST_CASE(test_cause_without_error_and_other_events), AG_TEST_CASE(test_cause_from_status),
    AG_TEST_CASE(test_cause_aws_sdk_failure_event), AG_TEST_CASE(test_origin_rows),
    AG_TEST_CASE(test_gcp_has_no_aws_block), AG_TEST_CASE(test_aws_resource_objects),
    AG_TEST_CASE(test_dynamodb_tables), AG_TEST_CASE(test_log_groups), AG_TEST_CASE(test_user),
    AG_TEST_CASE(test_sql), AG_TEST_CASE(test_metadata_default_and_types),
    AG_TEST_CASE(test_metadata_span_key_like_resource_key), AG_TEST_CASE(test_annotations_indexed),
    AG_TEST_CASE(test_index_all), AG_TEST_CASE(test_metadata_namespaces),
    AG_TEST_CASE(test_oversize_drops_metadata_then_document),
    AG_TEST_CASE(test_huge_name_is_too_big), AG_TEST_CASE(test_failmalloc),
    AG_TEST_CASE(test_escaped_option), AG_TEST_CASE(test_escaped_limit_counts_plain_bytes),
    AG_TEST_CASE(test_bad_arguments))
