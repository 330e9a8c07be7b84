/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cb_otel: the W3C traceparent / tracestate parsers (tables from the spec's rules), the
 * environment configuration, histogram buckets at their bounds, and the OTLP protobuf that the
 * exporters send, decoded back with protobuf-c and checked field by field. No HTTP here: the
 * URLs point at a closed port and the loop is never run (tests/integration/test_cb_otel.py
 * covers the wire).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>

#include "ag_buf.h"
#include "ag_mem.h"
#include "ag_test.h"
#include "cb_otel.h"
#include "cb_otel_int.h"
#include "config.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"

static void test_traceparent_table(void)
{
    static const struct {
        const char *in;
        int rc;
        uint8_t flags;
    } cases[] = {
        {"00-" TID "-" PID "-01", 0, 1},
        {"00-" TID "-" PID "-00", 0, 0},
        /* unknown flag bits of version 00 are kept as sent */
        {"00-" TID "-" PID "-03", 0, 3},
        /* OWS around the value (the HTTP layer may leave it) */
        {" \t00-" TID "-" PID "-01 ", 0, 1},
        /* upper-case hex anywhere is refused */
        {"00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01", AG_EPROTO, 0},
        {"00-" TID "-00F067AA0BA902B7-01", AG_EPROTO, 0},
        {"00-" TID "-" PID "-0A", AG_EPROTO, 0},
        {"0A-" TID "-" PID "-01", AG_EPROTO, 0},
        /* all-zero ids */
        {"00-00000000000000000000000000000000-" PID "-01", AG_EPROTO, 0},
        {"00-" TID "-0000000000000000-01", AG_EPROTO, 0},
        /* version ff is invalid; version 00 must be exactly 55 characters */
        {"ff-" TID "-" PID "-01", AG_EPROTO, 0},
        {"00-" TID "-" PID "-01-extra", AG_EPROTO, 0},
        {"00-" TID "-" PID "-011", AG_EPROTO, 0},
        /* a higher version: the first four fields, more after a '-'; only the sampled bit */
        {"01-" TID "-" PID "-01", 0, 1},
        {"cc-" TID "-" PID "-09-what-the-future-will-be-like", 0, 1},
        {"cc-" TID "-" PID "-01x", AG_EPROTO, 0},
        /* short, empty, wrong separators, non-hex */
        {"00-" TID "-" PID "-0", AG_EPROTO, 0},
        {"00-4bf92f3577b34da6a3ce929d0e0e473-" PID "-01", AG_EPROTO, 0},
        {"", AG_EPROTO, 0},
        {"00_" TID "-" PID "-01", AG_EPROTO, 0},
        {"00-" TID "_" PID "-01", AG_EPROTO, 0},
        {"00-" TID "-" PID "_01", AG_EPROTO, 0},
        {"00-4bf92f3577b34da6a3ce929d0e0e473g-" PID "-01", AG_EPROTO, 0},
        {"00-" TID "-" PID "-0z", AG_EPROTO, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cb_otel_span_ctx c;
        int rc = cb_otel_traceparent_parse(cases[i].in, strlen(cases[i].in), &c);
        if (rc != cases[i].rc) {
            printf("# case %zu: %s\n", i, cases[i].in);
        }
        ASSERT_EQ(rc, cases[i].rc);
        ASSERT_EQ(c.valid, rc == 0);
        if (rc == 0) {
            char t[33], s[17];
            hex_of(c.trace_id, 16, t);
            hex_of(c.span_id, 8, s);
            ASSERT_STREQ(t, TID);
            ASSERT_STREQ(s, PID);
            ASSERT_EQ(c.flags, cases[i].flags);
            ASSERT(c.remote);
            ASSERT_STREQ(c.tracestate, "");
        }
    }
}

static void test_traceparent_format_extract(void)
{
    struct cb_otel_span_ctx c;
    char out[56];

    ASSERT_OK(
        cb_otel_extract("00-" TID "-" PID "-01", "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7", &c));
    ASSERT_STREQ(c.tracestate, "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7");
    ASSERT_OK(cb_otel_traceparent_format(&c, out));
    ASSERT_STREQ(out, "00-" TID "-" PID "-01");
    /* A bad tracestate is dropped; the traceparent still counts. */
    ASSERT_OK(cb_otel_extract("00-" TID "-" PID "-00", "Bad=1", &c));
    ASSERT(c.valid);
    ASSERT_STREQ(c.tracestate, "");
    ASSERT_EQ(cb_otel_extract("00-" TID "-" PID "-0", "a=1", &c), AG_EPROTO);
    ASSERT(!c.valid);
    ASSERT_EQ(cb_otel_extract(NULL, "a=1", &c), AG_ENOTFOUND);
    ASSERT(!c.valid);
    ASSERT_EQ(cb_otel_traceparent_format(&c, out), AG_EINVAL);
}

static void test_tracestate(void)
{
    char big[600];
    struct ag_buf b;

    ASSERT_OK(cb_otel_tracestate_check("", 0));
    ASSERT_OK(cb_otel_tracestate_check("a=1", 3));
    ASSERT_OK(cb_otel_tracestate_check(",, a=1 ,,b=x y,", 15));
    ASSERT_OK(cb_otel_tracestate_check("tenant@sys=v,0t@s=v", 19));
    const char *all = "k_-*/9=!\"#$%&'()*+-./:;<>?@[]^~ x";
    ASSERT_OK(cb_otel_tracestate_check(all, strlen(all)));
    ASSERT_EQ(cb_otel_tracestate_check("A=1", 3), AG_EPROTO);     /* upper-case key */
    ASSERT_EQ(cb_otel_tracestate_check("1a=1", 4), AG_EPROTO);    /* simple key starts a-z */
    ASSERT_EQ(cb_otel_tracestate_check("a=1,a=2", 7), AG_EPROTO); /* duplicate */
    ASSERT_EQ(cb_otel_tracestate_check("a=b=c", 5), AG_EPROTO);
    ASSERT_EQ(cb_otel_tracestate_check("a=", 2), AG_EPROTO);
    ASSERT_EQ(cb_otel_tracestate_check("a", 1), AG_EPROTO);
    ASSERT_EQ(cb_otel_tracestate_check("t@=v", 4), AG_EPROTO);
    ASSERT_EQ(cb_otel_tracestate_check("t@sys-is-far-too-long=v", 23), AG_EPROTO);
    ASSERT_EQ(cb_otel_tracestate_check("a=\x7f", 3), AG_EPROTO);
    /* 33 members: one over the limit of 32. */
    ag_buf_init(&b, 4096);
    for (int i = 0; i < 33; i++) {
        ASSERT_OK(ag_buf_printf(&b, "%sk%d=v", i ? "," : "", i));
    }
    ASSERT_EQ(cb_otel_tracestate_check(ag_buf_str(&b), b.len), AG_ETOOBIG);
    ag_buf_cleanup(&b);
    /* 513 bytes: one over CB_OTEL_TRACESTATE_MAX. */
    memset(big, 'a', sizeof(big));
    big[1] = '=';
    ASSERT_EQ(cb_otel_tracestate_check(big, 513), AG_ETOOBIG);
    ASSERT_OK(cb_otel_tracestate_check(big, 258));            /* "a=" + a value of 256 */
    ASSERT_EQ(cb_otel_tracestate_check(big, 259), AG_EPROTO); /* a value of 257 */
}

/* Expected outputs from Unicode §3.9 (maximal subparts, Table 3-8's rule), worked by hand. */
static void test_utf8_dup(void)
{
#define R "\xEF\xBF\xBD" /* U+FFFD */
    static const struct {
        const char *in, *out;
    } t[] = {
        {"", ""},
        {"plain ascii", "plain ascii"},
        {"\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E \xF4\x8F\xBF\xBF", /* é € 𝄞 U+10FFFF */
         "\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E \xF4\x8F\xBF\xBF"},
        {"\xFF", R},                     /* never a lead byte */
        {"a\xC3", "a" R},                /* cut short by the end */
        {"\xC3\x28", R "("},            /* bad continuation: the '(' is kept */
        {"\xE2\x82", R},                /* one maximal subpart: one U+FFFD */
        {"\xE2\x82\x41", R "A"},
        {"\xC0\xAF", R R},              /* overlong '/': C0 is never a lead */
        {"\xE0\x80\xAF", R R R},       /* overlong: E0 needs A0..BF next */
        {"\xED\xA0\x80", R R R},       /* a surrogate: ED needs 80..9F next */
        {"\xF4\x90\x80\x80", R R R R}, /* above U+10FFFF */
        {"\xF0\x9F\x98x", R "x"},       /* three good bytes of four: one U+FFFD */
        {"\xF5\x80", R R},
        {"ok\x80ok", "ok" R "ok"},       /* a lone continuation byte */
    };
#undef R
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *o = cb_otel_utf8_dup(t[i].in);
        ASSERT_NOT_NULL(o);
        ASSERT_STREQ(o, t[i].out);
        ag_free(o);
    }
    ASSERT_NULL(cb_otel_utf8_dup(NULL));
}

static void test_kvlist(void)
{
    struct cb_otel_kvlist l;
    char err[128];
    const char *s = " a=b, c = d%20e ,f=, ,k%2C=%2c%3D%e2%82%ac";

    ASSERT_OK(cb_otel_kvlist_parse(s, strlen(s), 10, &l, err, sizeof(err)));
    ASSERT_EQ(l.n, 4);
    ASSERT_STREQ(l.items[0].key, "a");
    ASSERT_STREQ(l.items[0].value, "b");
    ASSERT_STREQ(l.items[1].key, "c");
    ASSERT_STREQ(l.items[1].value, "d e");
    ASSERT_STREQ(l.items[2].key, "f");
    ASSERT_STREQ(l.items[2].value, "");
    ASSERT_STREQ(l.items[3].key, "k,");
    ASSERT_STREQ(l.items[3].value, ",=\xe2\x82\xac");
    cb_otel_kvlist_cleanup(&l);

    static const struct {
        const char *in;
        int rc;
        const char *msg;
    } bad[] = {
        {"a=1,broken", AG_EPROTO, "member 2: expected key=value"},
        {"=v", AG_EPROTO, "member 1: empty key"},
        {"a=%zz", AG_EPROTO, "bad %-escape or a control character in the value"},
        {"a=%2", AG_EPROTO, "bad %-escape"},
        {"a=x%", AG_EPROTO, "bad %-escape"},
        {"a=%00", AG_EPROTO, "bad %-escape"},
        {"%g1=v", AG_EPROTO, "bad %-escape or a control character in the key"},
        {"a=x%0d%0aInjected: 1", AG_EPROTO, "control character in the value"},
        {"a=tab\there", AG_EPROTO, "control character"},
        {"a\x01=v", AG_EPROTO, "in the key"},
        {"a=1,b=2,c=3", AG_ETOOBIG, "more than 2 members"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ(cb_otel_kvlist_parse(bad[i].in, strlen(bad[i].in), 2, &l, err, sizeof(err)),
                  bad[i].rc);
        ASSERT_EQ(l.n, 0);
        ASSERT_NULL(l.items);
        ASSERT_STRCONTAINS(err, bad[i].msg);
    }
    char *huge = ag_malloc(CB_OTEL_KV_MAX_INPUT + 1);
    ASSERT_NOT_NULL(huge);
    memset(huge, 'a', CB_OTEL_KV_MAX_INPUT + 1);
    ASSERT_EQ(cb_otel_kvlist_parse(huge, CB_OTEL_KV_MAX_INPUT + 1, 10, &l, err, sizeof(err)),
              AG_ETOOBIG);
    ag_free(huge);
    ASSERT_OK(cb_otel_kvlist_parse("", 0, 10, &l, NULL, 0));
    ASSERT_EQ(l.n, 0);
}

/* A fake environment for cb_otel_config_from_env(): "NAME=value" strings. */
struct fake_env {
    const char *const *vars;
};

static const char *fake_getenv(void *arg, const char *name)
{
    const struct fake_env *e = arg;
    size_t n = strlen(name);
    for (size_t i = 0; e->vars[i] != NULL; i++) {
        if (strncmp(e->vars[i], name, n) == 0 && e->vars[i][n] == '=') {
            return e->vars[i] + n + 1;
        }
    }
    return NULL;
}

static const char *kv_get(const struct cb_otel_kvlist *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].key, key) == 0) {
            return l->items[i].value;
        }
    }
    return NULL;
}

static int load(const char *const *vars, struct cb_otel_config *cfg)
{
    struct fake_env e = {vars};
    cb_otel_config_init(cfg);
    return cb_otel_config_from_env(cfg, "1.2.3", fake_getenv, &e);
}

static void test_config_env(void)
{
    struct cb_otel_config c;

    /* Nothing set: service.name chatbot, the given version, no export, SDK defaults. */
    static const char *const none[] = {NULL};
    ASSERT_OK(load(none, &c));
    ASSERT(!c.disabled);
    ASSERT_EQ(c.resource.n, 2);
    ASSERT_STREQ(c.resource.items[0].key, "service.name");
    ASSERT_STREQ(c.resource.items[0].value, "chatbot");
    ASSERT_STREQ(kv_get(&c.resource, "service.version"), "1.2.3");
    ASSERT_NULL(c.traces_url);
    ASSERT_NULL(c.metrics_url);
    ASSERT_NULL(c.logs_url);
    ASSERT_EQ(c.schedule_delay_ms, 1000);
    ASSERT_EQ(c.metric_interval_ms, 60000);
    ASSERT_EQ(c.max_queue, 2048);
    ASSERT_EQ(c.max_batch, 512);
    ASSERT_EQ(c.timeout_ms, 10000);
    ASSERT(!c.record_content);
    cb_otel_config_cleanup(&c);

    /* OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES; values decoded;
     * a version there wins over the built-in one. */
    static const char *const full[] = {
        "OTEL_SERVICE_NAME=svc",
        "OTEL_RESOURCE_ATTRIBUTES=service.name=fromattrs, deployment.environment=dev%20one,"
        "service.version=9",
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://m:9/custom",
        "OTEL_LOGS_EXPORTER=none",
        "OTEL_EXPORTER_OTLP_HEADERS=a=1,b=x%3Dy",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS=a=2",
        "OTEL_METRIC_EXPORT_INTERVAL=250",
        "OTEL_BSP_SCHEDULE_DELAY=abc",
        "OTEL_BSP_MAX_QUEUE_SIZE=100",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=10",
        "OTEL_EXPORTER_OTLP_TIMEOUT=2500",
        "OTEL_EXPORTER_OTLP_COMPRESSION=gzip",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true",
        NULL,
    };
    ASSERT_OK(load(full, &c));
    ASSERT_EQ(c.resource.n, 3);
    ASSERT_STREQ(c.resource.items[0].key, "service.name");
    ASSERT_STREQ(c.resource.items[0].value, "svc");
    ASSERT_STREQ(kv_get(&c.resource, "deployment.environment"), "dev one");
    ASSERT_STREQ(kv_get(&c.resource, "service.version"), "9");
    ASSERT_STREQ(c.traces_url, "http://collector:4318/v1/traces");
    ASSERT_STREQ(c.metrics_url, "http://m:9/custom");
    ASSERT_NULL(c.logs_url);
    ASSERT_EQ(c.headers[0].n, 2);
    ASSERT_STREQ(kv_get(&c.headers[0], "a"), "2");
    ASSERT_STREQ(kv_get(&c.headers[0], "b"), "x=y");
    ASSERT_STREQ(kv_get(&c.headers[1], "a"), "1");
    ASSERT_EQ(c.metric_interval_ms, 250);
    ASSERT_EQ(c.schedule_delay_ms, 1000); /* "abc" ignored */
    ASSERT_EQ(c.max_queue, 100);
    ASSERT_EQ(c.max_batch, 10);
    ASSERT_EQ(c.timeout_ms, 2500);
    ASSERT(c.gzip);
    ASSERT(c.record_content);
    cb_otel_config_cleanup(&c);

    /* service.name from the attributes when OTEL_SERVICE_NAME is unset; a trailing slash. */
    static const char *const attrs[] = {
        "OTEL_RESOURCE_ATTRIBUTES=service.name=fromattrs",
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318/",
        NULL,
    };
    ASSERT_OK(load(attrs, &c));
    ASSERT_STREQ(c.resource.items[0].value, "fromattrs");
    ASSERT_STREQ(c.logs_url, "http://c:4318/v1/logs");
    cb_otel_config_cleanup(&c);

    /* A bad list is discarded whole; an unsupported protocol turns export off. */
    static const char *const bad[] = {
        "OTEL_RESOURCE_ATTRIBUTES=team=a,broken",
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
        "OTEL_EXPORTER_OTLP_HEADERS=x",
        "OTEL_SDK_DISABLED=TRUE",
        NULL,
    };
    ASSERT_OK(load(bad, &c));
    ASSERT(c.disabled);
    ASSERT_EQ(c.resource.n, 2);
    ASSERT_NULL(kv_get(&c.resource, "team"));
    ASSERT_NULL(c.traces_url);
    ASSERT_NULL(c.metrics_url);
    ASSERT_EQ(c.headers[0].n, 0);
    cb_otel_config_cleanup(&c);

    static const char *const notdisabled[] = {"OTEL_SDK_DISABLED=yes", NULL};
    ASSERT_OK(load(notdisabled, &c));
    ASSERT(!c.disabled); /* only "true" disables */
    cb_otel_config_cleanup(&c);
}

static void test_bucket_index(void)
{
    const double *b = cb_otel_duration_bounds;
    /* Bounds 0.005 0.01 0.025 0.05 0.075 0.1 0.25 0.5 0.75 1 2.5 5 7.5 10: bucket i holds
     * (b[i-1], b[i]], bucket 14 everything over 10. */
    ASSERT_EQ(cb_otel_bucket_index(b, 14, -1.0), 0);
    ASSERT_EQ(cb_otel_bucket_index(b, 14, 0.0), 0);
    ASSERT_EQ(cb_otel_bucket_index(b, 14, 0.005), 0); /* on the bound: inclusive */
    ASSERT_EQ(cb_otel_bucket_index(b, 14, 0.0050001), 1);
    ASSERT_EQ(cb_otel_bucket_index(b, 14, 0.01), 1);
    ASSERT_EQ(cb_otel_bucket_index(b, 14, 0.1), 5);
    ASSERT_EQ(cb_otel_bucket_index(b, 14, 0.30), 7); /* (0.25, 0.5] */
    ASSERT_EQ(cb_otel_bucket_index(b, 14, 1.0), 9);
    ASSERT_EQ(cb_otel_bucket_index(b, 14, 10.0), 13);
    ASSERT_EQ(cb_otel_bucket_index(b, 14, 10.0000001), 14);
    ASSERT_EQ(cb_otel_bucket_index(b, 14, INFINITY), 14);
    ASSERT_EQ(cb_otel_bucket_index(b, 0, 5.0), 0);
}

/* A telemetry object whose URLs point at a closed port; the loop is never run. */
static struct cb_otel *make_tel(struct event_base *base, bool record_content, size_t queue)
{
    struct cb_otel_config cfg;
    struct cb_otel *tel = NULL;

    cb_otel_config_init(&cfg);
    cfg.traces_url = ag_strdup("http://127.0.0.1:9/v1/traces");
    cfg.metrics_url = ag_strdup("http://127.0.0.1:9/v1/metrics");
    cfg.logs_url = ag_strdup("http://127.0.0.1:9/v1/logs");
    cfg.record_content = record_content;
    if (queue > 0) {
        cfg.max_queue = queue;
        cfg.max_batch = queue;
    }
    if (cb_otel_kvlist_parse("service.name=chatbot-test,team=qa", 33, 10, &cfg.resource, NULL, 0) !=
            0 ||
        cb_otel_new(base, &cfg, &tel) != 0) {
        tel = NULL;
    }
    cb_otel_config_cleanup(&cfg);
    return tel;
}

static const pb_kv *find_kv(pb_kv **kvs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kvs[i]->key, key) == 0) {
            return kvs[i];
        }
    }
    return NULL;
}

static const char *kv_str(pb_kv **kvs, size_t n, const char *key)
{
    const pb_kv *kv = find_kv(kvs, n, key);
    if (kv == NULL ||
        kv->value->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE) {
        return NULL;
    }
    return kv->value->string_value;
}

static long long kv_int(pb_kv **kvs, size_t n, const char *key)
{
    const pb_kv *kv = find_kv(kvs, n, key);
    if (kv == NULL ||
        kv->value->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE) {
        return -999;
    }
    return (long long)kv->value->int_value;
}

#define MODEL "anthropic.claude-3-haiku-20240307-v1:0"

static void test_encode_traces(void)
{
    struct event_base *base = event_base_new();
    struct cb_otel *tel = make_tel(base, false, 0);
    struct ag_buf out;
    size_t n = 0;
    ASSERT_NOT_NULL(tel);

    struct cb_otel_http_request_info req = {
        .method = "POST",
        .path = "/api/chat",
        .route = NULL,
        .server_address = "chat.example",
        .server_port = 8080,
        .client_address = "10.0.0.7",
        .user_agent = "curl/8",
        .traceparent = "00-" TID "-" PID "-01",
        .tracestate = "vendor=abc",
    };
    struct cb_otel_span *srv = cb_otel_server_span_start(tel, &req);
    ASSERT_NOT_NULL(srv);
    cb_otel_server_span_set_route(srv, "/api/chat");
    struct cb_otel_bedrock_call call = {"Converse", MODEL, "eu-west-1"};
    struct cb_otel_span *br = cb_otel_bedrock_span_start(tel, cb_otel_span_context(srv), &call);
    ASSERT_NOT_NULL(br);
    /* record_content is off: the text must not appear anywhere. */
    cb_otel_bedrock_span_content(tel, br, "secret prompt", "secret answer");
    struct cb_otel_bedrock_result res = {"req-123", 42, 7, "end_turn", 200, NULL, NULL};
    cb_otel_bedrock_span_end(tel, br, &call, &res);
    cb_otel_span_add_event(srv, "answered", NULL, 0);
    cb_otel_server_span_end(tel, srv, 200);

    ag_buf_init(&out, 1u << 20);
    ASSERT_OK(cb_otel_encode_traces(tel, &out, &n));
    ASSERT_EQ(n, 2);
    ASSERT(memmem(ag_buf_ptr(&out), out.len, "secret", 6) == NULL);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, out.len, ag_buf_ptr(&out));
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(r->n_resource_spans, 1);
    Opentelemetry__Proto__Resource__V1__Resource *rs = r->resource_spans[0]->resource;
    ASSERT_STREQ(kv_str(rs->attributes, rs->n_attributes, "service.name"), "chatbot-test");
    ASSERT_STREQ(kv_str(rs->attributes, rs->n_attributes, "team"), "qa");
    ASSERT_STREQ(kv_str(rs->attributes, rs->n_attributes, "telemetry.sdk.language"), "c");
    ASSERT_EQ(r->resource_spans[0]->n_scope_spans, 1);
    Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = r->resource_spans[0]->scope_spans[0];
    ASSERT_STREQ(ss->scope->name, "otter.chatbot");
    ASSERT_EQ(ss->n_spans, 2);
    /* Queue order = end order: the Bedrock span ended first. */
    Opentelemetry__Proto__Trace__V1__Span *b = ss->spans[0], *s = ss->spans[1];
    char t[33], sid[17], p[17];

    hex_of(s->trace_id.data, s->trace_id.len, t);
    ASSERT_STREQ(t, TID);
    hex_of(b->trace_id.data, b->trace_id.len, t);
    ASSERT_STREQ(t, TID);
    ASSERT_EQ(s->parent_span_id.len, 8);
    hex_of(s->parent_span_id.data, 8, p);
    ASSERT_STREQ(p, PID);
    ASSERT_EQ(s->span_id.len, 8);
    ASSERT_EQ(b->parent_span_id.len, 8);
    hex_of(s->span_id.data, 8, sid);
    hex_of(b->parent_span_id.data, 8, p);
    ASSERT_STREQ(p, sid);
    ASSERT_STREQ(s->trace_state, "vendor=abc");
    ASSERT_STREQ(b->trace_state, "vendor=abc");
    /* flags: sampled (0x01) | is_remote known (0x100) | parent remote (0x200) for the server
     * span = 0x301; the client span's parent is local: 0x101. */
    ASSERT_EQ(s->flags, 0x301);
    ASSERT_EQ(b->flags, 0x101);
    ASSERT_EQ(s->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
    ASSERT_EQ(b->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
    ASSERT_STREQ(s->name, "POST /api/chat");
    ASSERT_STREQ(b->name, "chat " MODEL);
    ASSERT(s->start_time_unix_nano > 1600000000000000000ull);
    ASSERT(s->end_time_unix_nano >= s->start_time_unix_nano);
    ASSERT(b->start_time_unix_nano >= s->start_time_unix_nano);
    ASSERT(b->end_time_unix_nano <= s->end_time_unix_nano);

    ASSERT_STREQ(kv_str(s->attributes, s->n_attributes, "http.request.method"), "POST");
    ASSERT_STREQ(kv_str(s->attributes, s->n_attributes, "url.path"), "/api/chat");
    ASSERT_STREQ(kv_str(s->attributes, s->n_attributes, "http.route"), "/api/chat");
    ASSERT_STREQ(kv_str(s->attributes, s->n_attributes, "server.address"), "chat.example");
    ASSERT_EQ(kv_int(s->attributes, s->n_attributes, "server.port"), 8080);
    ASSERT_STREQ(kv_str(s->attributes, s->n_attributes, "client.address"), "10.0.0.7");
    ASSERT_STREQ(kv_str(s->attributes, s->n_attributes, "user_agent.original"), "curl/8");
    ASSERT_EQ(kv_int(s->attributes, s->n_attributes, "http.response.status_code"), 200);
    ASSERT_EQ(s->status->code, 0);
    ASSERT_EQ(s->n_events, 1);
    ASSERT_STREQ(s->events[0]->name, "answered");

    ASSERT_STREQ(kv_str(b->attributes, b->n_attributes, "gen_ai.system"), "aws.bedrock");
    ASSERT_STREQ(kv_str(b->attributes, b->n_attributes, "gen_ai.operation.name"), "chat");
    ASSERT_STREQ(kv_str(b->attributes, b->n_attributes, "gen_ai.request.model"), MODEL);
    ASSERT_EQ(kv_int(b->attributes, b->n_attributes, "gen_ai.usage.input_tokens"), 42);
    ASSERT_EQ(kv_int(b->attributes, b->n_attributes, "gen_ai.usage.output_tokens"), 7);
    const pb_kv *fr = find_kv(b->attributes, b->n_attributes, "gen_ai.response.finish_reasons");
    ASSERT_NOT_NULL(fr);
    ASSERT_EQ(fr->value->value_case,
              OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
    ASSERT_EQ(fr->value->array_value->n_values, 1);
    ASSERT_STREQ(fr->value->array_value->values[0]->string_value, "end_turn");
    ASSERT_STREQ(kv_str(b->attributes, b->n_attributes, "rpc.system"), "aws-api");
    ASSERT_STREQ(kv_str(b->attributes, b->n_attributes, "rpc.service"), "BedrockRuntime");
    ASSERT_STREQ(kv_str(b->attributes, b->n_attributes, "rpc.method"), "Converse");
    ASSERT_STREQ(kv_str(b->attributes, b->n_attributes, "aws.request_id"), "req-123");
    ASSERT_STREQ(kv_str(b->attributes, b->n_attributes, "cloud.region"), "eu-west-1");
    ASSERT_EQ(b->n_events, 0);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r,
                                                                                            NULL);
    /* The queue is empty now. */
    ag_buf_reset(&out);
    ASSERT_OK(cb_otel_encode_traces(tel, &out, &n));
    ASSERT_EQ(n, 0);
    ASSERT_EQ(out.len, 0);
    ag_buf_cleanup(&out);
    cb_otel_free(tel);
    event_base_free(base);
}

static void test_errors_content_and_roots(void)
{
    struct event_base *base = event_base_new();
    struct cb_otel *tel = make_tel(base, true, 0);
    struct ag_buf out;
    size_t n = 0;
    ASSERT_NOT_NULL(tel);

    /* A bad traceparent: a new root. An unknown method: _OTHER. A 503: ERROR. */
    struct cb_otel_http_request_info req = {
        .method = "BREW", .path = "/x", .traceparent = "00-" TID "-" PID "-1"};
    struct cb_otel_span *srv = cb_otel_server_span_start(tel, &req);
    struct cb_otel_bedrock_call call = {"ConverseStream", MODEL, "us-east-1"};
    struct cb_otel_span *br = cb_otel_bedrock_span_start(tel, cb_otel_span_context(srv), &call);
    cb_otel_bedrock_span_content(tel, br, "the prompt", "the answer");
    struct cb_otel_bedrock_result res = {
        "req-9", -1, -1, NULL, 429, "ThrottlingException", "Too many requests"};
    cb_otel_bedrock_span_end(tel, br, &call, &res);
    cb_otel_server_span_end(tel, srv, 503);
    /* A parent that is not sampled: the span propagates but is not recorded. */
    struct cb_otel_span_ctx unsampled;
    ASSERT_OK(cb_otel_extract("00-" TID "-" PID "-00", NULL, &unsampled));
    struct cb_otel_span *quiet =
        cb_otel_span_start(tel, "quiet", CB_OTEL_SPAN_INTERNAL, &unsampled);
    ASSERT_NOT_NULL(quiet);
    ASSERT_MEMEQ(cb_otel_span_context(quiet)->trace_id, unsampled.trace_id, 16);
    ASSERT_EQ(cb_otel_span_context(quiet)->flags, 0);
    cb_otel_span_end(quiet);

    ag_buf_init(&out, 1u << 20);
    ASSERT_OK(cb_otel_encode_traces(tel, &out, &n));
    ASSERT_EQ(n, 2);
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, out.len, ag_buf_ptr(&out));
    ASSERT_NOT_NULL(r);
    Opentelemetry__Proto__Trace__V1__Span *b = r->resource_spans[0]->scope_spans[0]->spans[0];
    Opentelemetry__Proto__Trace__V1__Span *s = r->resource_spans[0]->scope_spans[0]->spans[1];
    char t[33];
    hex_of(s->trace_id.data, 16, t);
    ASSERT(strcmp(t, TID) != 0);
    /* A new root's trace id starts with the Unix time in seconds (X-Ray's format). */
    const uint8_t *id = s->trace_id.data;
    long long secs = (long long)id[0] << 24 | id[1] << 16 | id[2] << 8 | id[3];
    ASSERT(llabs(secs - (long long)time(NULL)) <= 5);
    ASSERT_EQ(s->parent_span_id.len, 0);
    ASSERT_EQ(s->flags, 0x101);
    ASSERT_STREQ(s->name, "HTTP");
    ASSERT_STREQ(kv_str(s->attributes, s->n_attributes, "http.request.method"), "_OTHER");
    ASSERT_STREQ(kv_str(s->attributes, s->n_attributes, "http.request.method_original"), "BREW");
    ASSERT_EQ(s->status->code,
              OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
    ASSERT_STREQ(kv_str(s->attributes, s->n_attributes, "error.type"), "503");
    ASSERT_EQ(b->status->code,
              OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
    ASSERT_STREQ(b->status->message, "Too many requests");
    ASSERT_STREQ(kv_str(b->attributes, b->n_attributes, "error.type"), "ThrottlingException");
    ASSERT_NULL(find_kv(b->attributes, b->n_attributes, "gen_ai.usage.input_tokens"));
    ASSERT_STREQ(kv_str(b->attributes, b->n_attributes, "rpc.method"), "ConverseStream");
    ASSERT_EQ(b->n_events, 2);
    ASSERT_STREQ(b->events[0]->name, "gen_ai.user.message");
    ASSERT_STREQ(kv_str(b->events[0]->attributes, b->events[0]->n_attributes, "gen_ai.prompt"),
                 "the prompt");
    ASSERT_STREQ(kv_str(b->events[1]->attributes, b->events[1]->n_attributes, "gen_ai.completion"),
                 "the answer");
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r,
                                                                                            NULL);
    ag_buf_cleanup(&out);
    cb_otel_free(tel);
    event_base_free(base);
}

static void test_attr_limits(void)
{
    struct event_base *base = event_base_new();
    struct cb_otel *tel = make_tel(base, false, 0);
    struct ag_buf out;
    size_t n = 0;
    char key[32];

    struct cb_otel_span *s = cb_otel_span_start(tel, "limits", CB_OTEL_SPAN_INTERNAL, NULL);
    ASSERT_NOT_NULL(s);
    for (int i = 0; i < 130; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        cb_otel_span_set_int(s, key, i);
    }
    cb_otel_span_set_str(s, "k0", "replaced");
    cb_otel_span_set_double(s, "k1", 0.5);
    cb_otel_span_set_bool(s, "k2", true);
    cb_otel_span_set_status(s, CB_OTEL_STATUS_OK, "ignored for OK");
    cb_otel_span_set_status(s, CB_OTEL_STATUS_ERROR, "OK is final");
    cb_otel_span_end(s);
    ag_buf_init(&out, 1u << 20);
    ASSERT_OK(cb_otel_encode_traces(tel, &out, &n));
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *r =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, out.len, ag_buf_ptr(&out));
    ASSERT_NOT_NULL(r);
    Opentelemetry__Proto__Trace__V1__Span *p = r->resource_spans[0]->scope_spans[0]->spans[0];
    /* 130 keys, 128 kept: k128 and k129 dropped and counted. */
    ASSERT_EQ(p->n_attributes, 128);
    ASSERT_EQ(p->dropped_attributes_count, 2);
    ASSERT_NULL(find_kv(p->attributes, p->n_attributes, "k128"));
    ASSERT_STREQ(kv_str(p->attributes, p->n_attributes, "k0"), "replaced");
    ASSERT(find_kv(p->attributes, p->n_attributes, "k1")->value->double_value == 0.5);
    ASSERT(find_kv(p->attributes, p->n_attributes, "k2")->value->bool_value);
    ASSERT_EQ(kv_int(p->attributes, p->n_attributes, "k127"), 127);
    ASSERT_EQ(p->status->code,
              OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK);
    ASSERT_STREQ(p->status->message, "");
    ASSERT_EQ(p->parent_span_id.len, 0);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r,
                                                                                            NULL);
    ag_buf_cleanup(&out);
    cb_otel_free(tel);
    event_base_free(base);
}

static const Opentelemetry__Proto__Metrics__V1__Metric *
find_metric(const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm, const char *name)
{
    for (size_t i = 0; i < sm->n_metrics; i++) {
        if (strcmp(sm->metrics[i]->name, name) == 0) {
            return sm->metrics[i];
        }
    }
    return NULL;
}

static void test_encode_metrics(void)
{
    struct event_base *base = event_base_new();
    struct cb_otel *tel = make_tel(base, false, 0);
    struct ag_buf out;
    size_t n = 0;
    ASSERT_NOT_NULL(tel);

    /* /api/chat 200: durations 0.005 (bucket 0, on its bound), 0.0051 (bucket 1), 0.3
     * (bucket 7, (0.25, 0.5]), 12 (bucket 14, over 10). /healthz 200 once at 0.001. */
    cb_otel_record_request(tel, "POST", "/api/chat", 200, 0.005);
    cb_otel_record_request(tel, "POST", "/api/chat", 200, 0.0051);
    cb_otel_record_request(tel, "POST", "/api/chat", 200, 0.3);
    cb_otel_record_request(tel, "POST", "/api/chat", 200, 12.0);
    cb_otel_record_request(tel, "GET", "/healthz", 200, 0.001);
    struct cb_otel_bedrock_call call = {"Converse", MODEL, "eu-west-1"};
    struct cb_otel_bedrock_result ok = {"r1", 100, 20, "end_turn", 200, NULL, NULL};
    struct cb_otel_bedrock_result ok2 = {"r2", 4, 5, "end_turn", 200, NULL, NULL};
    struct cb_otel_bedrock_result bad = {"r3", -1, -1, NULL, 429, "ThrottlingException", "slow"};
    cb_otel_bedrock_span_end(tel, NULL, &call, &ok);
    cb_otel_bedrock_span_end(tel, NULL, &call, &ok2);
    cb_otel_bedrock_span_end(tel, NULL, &call, &bad);
    cb_otel_bedrock_span_end(tel, NULL, &call, &bad);

    ag_buf_init(&out, 1u << 20);
    ASSERT_OK(cb_otel_encode_metrics(tel, 1700000000123456789ull, &out, &n));
    /* points: requests 2 + duration 2 + tokens 2 (input, output) + errors 1 = 7 */
    ASSERT_EQ(n, 7);
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *r =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
            NULL, out.len, ag_buf_ptr(&out));
    ASSERT_NOT_NULL(r);
    ASSERT_EQ(r->n_resource_metrics, 1);
    const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
        r->resource_metrics[0]->scope_metrics[0];
    ASSERT_EQ(sm->n_metrics, 4);

    const Opentelemetry__Proto__Metrics__V1__Metric *m = find_metric(sm, "chatbot.requests");
    ASSERT_NOT_NULL(m);
    ASSERT_EQ(m->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM);
    ASSERT(m->sum->is_monotonic);
    ASSERT_EQ(
        m->sum->aggregation_temporality,
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE);
    ASSERT_EQ(m->sum->n_data_points, 2);
    for (size_t i = 0; i < 2; i++) {
        Opentelemetry__Proto__Metrics__V1__NumberDataPoint *dp = m->sum->data_points[i];
        const char *route = kv_str(dp->attributes, dp->n_attributes, "http.route");
        ASSERT_NOT_NULL(route);
        ASSERT_EQ(dp->n_attributes, 2);
        ASSERT_EQ(kv_int(dp->attributes, dp->n_attributes, "http.response.status_code"), 200);
        ASSERT_EQ(dp->as_int, strcmp(route, "/api/chat") == 0 ? 4 : 1);
        ASSERT_UEQ(dp->start_time_unix_nano, cb_otel_start_ns(tel));
        ASSERT_UEQ(dp->time_unix_nano, 1700000000123456789ull);
    }

    m = find_metric(sm, "http.server.request.duration");
    ASSERT_NOT_NULL(m);
    ASSERT_STREQ(m->unit, "s");
    ASSERT_EQ(m->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM);
    ASSERT_EQ(
        m->histogram->aggregation_temporality,
        OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE);
    ASSERT_EQ(m->histogram->n_data_points, 2);
    for (size_t i = 0; i < 2; i++) {
        Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *dp = m->histogram->data_points[i];
        ASSERT_EQ(dp->n_explicit_bounds, 14);
        ASSERT(dp->explicit_bounds[0] == 0.005 && dp->explicit_bounds[13] == 10.0);
        ASSERT_EQ(dp->n_bucket_counts, 15);
        uint64_t want[15] = {0};
        if (strcmp(kv_str(dp->attributes, dp->n_attributes, "http.route"), "/api/chat") == 0) {
            ASSERT_STREQ(kv_str(dp->attributes, dp->n_attributes, "http.request.method"), "POST");
            want[0] = want[1] = want[7] = want[14] = 1;
            ASSERT_UEQ(dp->count, 4);
            /* 0.005 + 0.0051 + 0.3 + 12 = 12.3101 */
            ASSERT(fabs(dp->sum - 12.3101) < 1e-9);
            ASSERT(dp->min == 0.005);
            ASSERT(dp->max == 12.0);
        } else {
            want[0] = 1; /* 0.001 <= 0.005 */
            ASSERT_UEQ(dp->count, 1);
            ASSERT(dp->sum == 0.001);
        }
        ASSERT_EQ(dp->sum_present_case,
                  OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM_PRESENT_SUM);
        for (int k = 0; k < 15; k++) {
            ASSERT_UEQ(dp->bucket_counts[k], want[k]);
        }
        ASSERT_UEQ(dp->start_time_unix_nano, cb_otel_start_ns(tel));
    }

    m = find_metric(sm, "gen_ai.client.token.usage");
    ASSERT_NOT_NULL(m);
    ASSERT_EQ(m->histogram->n_data_points, 2);
    for (size_t i = 0; i < 2; i++) {
        Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *dp = m->histogram->data_points[i];
        const char *type = kv_str(dp->attributes, dp->n_attributes, "gen_ai.token.type");
        ASSERT_STREQ(kv_str(dp->attributes, dp->n_attributes, "gen_ai.request.model"), MODEL);
        ASSERT_STREQ(kv_str(dp->attributes, dp->n_attributes, "gen_ai.system"), "aws.bedrock");
        ASSERT_UEQ(dp->count, 2);
        if (strcmp(type, "input") == 0) {
            /* 100 + 4 = 104; 4 is on the bound 4 (bucket 1), 100 in (64, 256] (bucket 4) */
            ASSERT(dp->sum == 104.0);
            ASSERT_UEQ(dp->bucket_counts[1], 1);
            ASSERT_UEQ(dp->bucket_counts[4], 1);
        } else {
            ASSERT_STREQ(type, "output");
            /* 20 + 5 = 25; 5 in (4, 16] (bucket 2), 20 in (16, 64] (bucket 3) */
            ASSERT(dp->sum == 25.0);
            ASSERT_UEQ(dp->bucket_counts[2], 1);
            ASSERT_UEQ(dp->bucket_counts[3], 1);
        }
    }

    m = find_metric(sm, "chatbot.provider.errors");
    ASSERT_NOT_NULL(m);
    ASSERT_EQ(m->sum->n_data_points, 1);
    ASSERT_EQ(m->sum->data_points[0]->as_int, 2);
    ASSERT_STREQ(kv_str(m->sum->data_points[0]->attributes, m->sum->data_points[0]->n_attributes,
                        "error.type"),
                 "ThrottlingException");
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        r, NULL);

    /* Cumulative: a second collection repeats the totals from the same start time. */
    cb_otel_record_request(tel, "GET", "/healthz", 200, 0.001);
    ag_buf_reset(&out);
    ASSERT_OK(cb_otel_encode_metrics(tel, 1700000001000000000ull, &out, &n));
    ASSERT_EQ(n, 7);
    r = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
        NULL, out.len, ag_buf_ptr(&out));
    ASSERT_NOT_NULL(r);
    m = find_metric(r->resource_metrics[0]->scope_metrics[0], "chatbot.requests");
    int64_t total = 0;
    for (size_t i = 0; i < m->sum->n_data_points; i++) {
        total += m->sum->data_points[i]->as_int;
        ASSERT_UEQ(m->sum->data_points[i]->start_time_unix_nano, cb_otel_start_ns(tel));
    }
    ASSERT_EQ(total, 6); /* 4 + 1 + 1 */
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        r, NULL);

    /* Bounds that do not increase are refused. */
    const double bad_bounds[] = {1, 1};
    ASSERT_NULL(cb_otel_histogram_new(tel, "x", "s", "", bad_bounds, 2));
    ag_buf_cleanup(&out);
    cb_otel_free(tel);
    event_base_free(base);
}

static void test_encode_logs(void)
{
    struct event_base *base = event_base_new();
    struct cb_otel *tel = make_tel(base, false, 0);
    struct ag_buf out;
    size_t n = 0;
    ASSERT_NOT_NULL(tel);

    struct cb_otel_span *s = cb_otel_span_start(tel, "op", CB_OTEL_SPAN_INTERNAL, NULL);
    struct cb_otel_attr a[] = {CB_OTEL_STR("error.type", "timeout"), CB_OTEL_INT("attempt", 3)};
    cb_otel_log(tel, CB_OTEL_SEV_ERROR, s, "bedrock call failed", a, 2);
    cb_otel_log(tel, CB_OTEL_SEV_INFO, NULL, "uncorrelated", NULL, 0);
    ag_buf_init(&out, 1u << 20);
    ASSERT_OK(cb_otel_encode_logs(tel, &out, &n));
    ASSERT_EQ(n, 2);
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *r =
        opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
            NULL, out.len, ag_buf_ptr(&out));
    ASSERT_NOT_NULL(r);
    Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = r->resource_logs[0]->scope_logs[0];
    ASSERT_EQ(sl->n_log_records, 2);
    Opentelemetry__Proto__Logs__V1__LogRecord *l = sl->log_records[0];
    ASSERT_EQ(l->severity_number, 17);
    ASSERT_STREQ(l->severity_text, "ERROR");
    ASSERT_STREQ(l->body->string_value, "bedrock call failed");
    ASSERT_STREQ(kv_str(l->attributes, l->n_attributes, "error.type"), "timeout");
    ASSERT_EQ(kv_int(l->attributes, l->n_attributes, "attempt"), 3);
    ASSERT_EQ(l->trace_id.len, 16);
    ASSERT_MEMEQ(l->trace_id.data, cb_otel_span_context(s)->trace_id, 16);
    ASSERT_EQ(l->span_id.len, 8);
    ASSERT_MEMEQ(l->span_id.data, cb_otel_span_context(s)->span_id, 8);
    ASSERT_EQ(l->flags, 1);
    ASSERT(l->time_unix_nano > 1600000000000000000ull);
    l = sl->log_records[1];
    ASSERT_EQ(l->severity_number, 9);
    ASSERT_STREQ(l->severity_text, "INFO");
    ASSERT_EQ(l->trace_id.len, 0);
    ASSERT_EQ(l->span_id.len, 0);
    opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(r, NULL);
    cb_otel_span_end(s);
    ag_buf_cleanup(&out);
    cb_otel_free(tel);
    event_base_free(base);
}

static void test_disabled_and_null(void)
{
    struct event_base *base = event_base_new();
    struct cb_otel_config cfg;
    struct cb_otel *tel = NULL;
    struct cb_otel_stats st;

    cb_otel_config_init(&cfg);
    cfg.disabled = true;
    cfg.traces_url = ag_strdup("http://127.0.0.1:9/v1/traces");
    ASSERT_OK(cb_otel_new(base, &cfg, &tel));
    cb_otel_config_cleanup(&cfg);
    ASSERT(!cb_otel_enabled(tel));
    ASSERT_NULL(cb_otel_span_start(tel, "x", CB_OTEL_SPAN_SERVER, NULL));
    struct cb_otel_http_request_info req = {.method = "GET", .path = "/"};
    struct cb_otel_span *s = cb_otel_server_span_start(tel, &req);
    ASSERT_NULL(s);
    cb_otel_server_span_end(tel, s, 200);
    cb_otel_record_request(tel, "GET", "/", 200, 0.1);
    cb_otel_log(tel, CB_OTEL_SEV_INFO, NULL, "x", NULL, 0);
    ASSERT_NULL(cb_otel_counter_new(tel, "c", "1", ""));
    ASSERT_OK(cb_otel_shutdown(tel, 100));
    cb_otel_stats(tel, &st);
    ASSERT_UEQ(st.requests + st.spans_ended + st.logs_emitted, 0);
    cb_otel_free(tel);
    /* NULL everywhere is a no-op. */
    cb_otel_span_set_str(NULL, "k", "v");
    cb_otel_span_end(NULL);
    cb_otel_log(NULL, CB_OTEL_SEV_INFO, NULL, "x", NULL, 0);
    cb_otel_counter_add(NULL, 1, NULL, 0);
    ASSERT_OK(cb_otel_shutdown(NULL, 10));
    cb_otel_free(NULL);
    event_base_free(base);
}

static void test_queue_bound(void)
{
    struct event_base *base = event_base_new();
    struct cb_otel *tel = make_tel(base, false, 3);
    struct cb_otel_stats st;
    ASSERT_NOT_NULL(tel);

    /* Queue of 3 = batch of 3: span 3 starts an export (taking 1-3 off the queue), 4-6 wait
     * while it is in flight, span 7 finds the queue full and is dropped. */
    for (int i = 0; i < 7; i++) {
        cb_otel_span_end(cb_otel_span_start(tel, "s", CB_OTEL_SPAN_INTERNAL, NULL));
    }
    cb_otel_stats(tel, &st);
    ASSERT_UEQ(st.spans_ended, 7);
    ASSERT_UEQ(st.spans_dropped, 1);
    ASSERT_UEQ(st.requests, 1);
    cb_otel_free(tel); /* aborts the request in flight */
    event_base_free(base);
}

static void test_failmalloc_config(void)
{
#if AG_FAILMALLOC
    static const char *const vars[] = {
        "OTEL_SERVICE_NAME=svc",
        "OTEL_RESOURCE_ATTRIBUTES=service.name=x,a=b%20c,service.version=2",
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=http://l:1/x",
        "OTEL_EXPORTER_OTLP_HEADERS=a=1,b=2",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS=a=3,c=4",
        NULL,
    };
    for (long n = 1; n < 120; n++) {
        struct cb_otel_config c;
        ag_mem_fail_after(n);
        int rc = load(vars, &c);
        ag_mem_fail_after(0);
        ASSERT(rc == 0 || rc == AG_ENOMEM);
        cb_otel_config_cleanup(&c);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    for (long n = 1; n < 400; n++) {
        struct event_base *base = event_base_new();
        struct ag_buf out;
        size_t k = 0;
        ag_mem_fail_after(n);
        struct cb_otel *tel = make_tel(base, true, 0);
        struct cb_otel_http_request_info req = {
            .method = "POST", .route = "/api/chat", .traceparent = "00-" TID "-" PID "-01"};
        struct cb_otel_span *s = cb_otel_server_span_start(tel, &req);
        struct cb_otel_bedrock_call call = {"Converse", MODEL, "eu-west-1"};
        struct cb_otel_span *b = cb_otel_bedrock_span_start(tel, cb_otel_span_context(s), &call);
        cb_otel_bedrock_span_content(tel, b, "p", "c");
        struct cb_otel_bedrock_result res = {"r", 1, 2, "end_turn", 200, NULL, NULL};
        cb_otel_bedrock_span_end(tel, b, &call, &res);
        cb_otel_log(tel, CB_OTEL_SEV_INFO, s, "x", NULL, 0);
        cb_otel_server_span_end(tel, s, 200);
        ag_buf_init(&out, 1u << 20);
        int rc = cb_otel_encode_traces(tel, &out, &k);
        ASSERT(rc == 0 || rc == AG_ENOMEM);
        ag_buf_reset(&out);
        rc = cb_otel_encode_metrics(tel, 1, &out, &k);
        ASSERT(rc == 0 || rc == AG_ENOMEM);
        ag_buf_reset(&out);
        rc = cb_otel_encode_logs(tel, &out, &k);
        ASSERT(rc == 0 || rc == AG_ENOMEM);
        ag_mem_fail_after(0);
        ag_buf_cleanup(&out);
        cb_otel_free(tel);
        event_base_free(base);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_traceparent_table), AG_TEST_CASE(test_traceparent_format_extract),
             AG_TEST_CASE(test_tracestate), AG_TEST_CASE(test_utf8_dup), AG_TEST_CASE(test_kvlist),
             AG_TEST_CASE(test_config_env), AG_TEST_CASE(test_bucket_index),
             AG_TEST_CASE(test_encode_traces), AG_TEST_CASE(test_errors_content_and_roots),
             AG_TEST_CASE(test_attr_limits), AG_TEST_CASE(test_encode_metrics),
             AG_TEST_CASE(test_encode_logs), AG_TEST_CASE(test_disabled_and_null),
             AG_TEST_CASE(test_queue_bound), AG_TEST_CASE(test_failmalloc_config),
             AG_TEST_CASE(test_failmalloc))
