/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The batch, memory_limiter and resource_detection processors, driven on a real event loop
 * with a recording consumer after them.
 */
#include "ag_test.h"
#include "ag_component.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "pipeline_fixture.h"

#include <stdio.h>
#include <stdlib.h>

struct recorder {
    struct ag_payload *got[64];
    size_t n;
    int answer;
};

static int record(void *self, struct ag_payload *p)
{
    struct recorder *r = self;
    if (r->answer != 0) {
        return r->answer;
    }
    r->got[r->n++] = ag_payload_ref(p);
    return 0;
}

static void recorder_clear(struct recorder *r)
{
    for (size_t i = 0; i < r->n; i++) {
        ag_payload_unref(r->got[i]);
    }
    r->n = 0;
}

static struct ag_component_env env_for(struct event_base *base, struct recorder *r)
{
    struct ag_component_env env = {base, "test", AG_SIGNAL_TRACES, {record, r}};
    return env;
}

static void test_batch_size_trigger(void)
{
    struct event_base *base = event_base_new();
    struct recorder rec = {.n = 0};
    struct ag_component_env env = env_for(base, &rec);
    struct ag_batch_config cfg = {
        .send_batch_size = 5, .send_batch_max_size = 0, .timeout = 10ull * 1000000000ull};
    struct ag_processor proc;
    char err[128];
    ASSERT_OK(ag_batch_new(&cfg, &env, &proc, err, sizeof(err)));
    int name = 0;
    for (int i = 0; i < 2; i++) {
        struct ag_payload *p = fx_traces(1, 1, 2, &name);
        ASSERT_OK(proc.in.consume(proc.in.self, p));
        ag_payload_unref(p);
    }
    ASSERT_UEQ(rec.n, 0); /* 4 spans pending, under 5 */
    struct ag_payload *p = fx_traces(1, 1, 2, &name);
    ASSERT_OK(proc.in.consume(proc.in.self, p));
    ag_payload_unref(p);
    ASSERT_UEQ(rec.n, 1);
    ASSERT_UEQ(rec.got[0]->items, 6);
    char names[128];
    fx_names(rec.got[0], names, sizeof(names));
    ASSERT_STREQ(names, "s0 s1 s2 s3 s4 s5");
    recorder_clear(&rec);
    proc.destroy(proc.self);
    event_base_free(base);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static void test_batch_timeout_and_flush(void)
{
    struct event_base *base = event_base_new();
    struct recorder rec = {.n = 0};
    struct ag_component_env env = env_for(base, &rec);
    struct ag_batch_config cfg = {.send_batch_size = 1000, .timeout = 20ull * 1000000ull};
    struct ag_processor proc;
    char err[128];
    ASSERT_OK(ag_batch_new(&cfg, &env, &proc, err, sizeof(err)));
    int name = 0;
    struct ag_payload *p = fx_traces(1, 1, 3, &name);
    ASSERT_OK(proc.in.consume(proc.in.self, p));
    ag_payload_unref(p);
    ASSERT_UEQ(rec.n, 0);
    struct timeval tv = {0, 200000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    ASSERT_UEQ(rec.n, 1); /* sent by the 20 ms timer, well before the 200 ms exit */
    ASSERT_UEQ(rec.got[0]->items, 3);
    /* flush sends what is pending at once */
    p = fx_traces(1, 1, 1, &name);
    ASSERT_OK(proc.in.consume(proc.in.self, p));
    ag_payload_unref(p);
    ASSERT_UEQ(rec.n, 1);
    proc.flush(proc.self);
    ASSERT_UEQ(rec.n, 2);
    recorder_clear(&rec);
    proc.destroy(proc.self);
    event_base_free(base);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static void test_batch_max_size_splits(void)
{
    struct event_base *base = event_base_new();
    struct recorder rec = {.n = 0};
    struct ag_component_env env = env_for(base, &rec);
    struct ag_batch_config cfg = {
        .send_batch_size = 4, .send_batch_max_size = 4, .timeout = 10ull * 1000000000ull};
    struct ag_processor proc;
    char err[128];
    ASSERT_OK(ag_batch_new(&cfg, &env, &proc, err, sizeof(err)));
    int name = 0;
    struct ag_payload *p = fx_traces(1, 1, 10, &name); /* 10 spans: 4 + 4 sent, 2 pending */
    ASSERT_OK(proc.in.consume(proc.in.self, p));
    ag_payload_unref(p);
    ASSERT_UEQ(rec.n, 2);
    ASSERT_UEQ(rec.got[0]->items, 4);
    ASSERT_UEQ(rec.got[1]->items, 4);
    proc.flush(proc.self);
    ASSERT_UEQ(rec.n, 3);
    char names[128];
    fx_names(rec.got[2], names, sizeof(names));
    ASSERT_STREQ(names, "s8 s9");
    recorder_clear(&rec);
    proc.destroy(proc.self);
    event_base_free(base);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

/* Four payloads of 2 spans whose arenas each hold 2 MiB more (one block of exactly 2 MiB: arena
 * blocks are powers of two): three hold 3 x (2 MiB + the spans' few kB) < 8 MiB, the fourth brings
 * it past the 8 MiB bound, so the batch goes with 8 spans although send_batch_size is 1000 and
 * the timeout 10 s away. */
static void test_batch_byte_bound(void)
{
    struct event_base *base = event_base_new();
    struct recorder rec = {.n = 0};
    struct ag_component_env env = env_for(base, &rec);
    struct ag_batch_config cfg = {.send_batch_size = 1000, .timeout = 10ull * 1000000000ull};
    struct ag_processor proc;
    char err[128];
    ASSERT_OK(ag_batch_new(&cfg, &env, &proc, err, sizeof(err)));
    ASSERT_UEQ(AG_BATCH_MAX_HELD_BYTES, 8u << 20); /* the arithmetic above */
    int name = 0;
    for (int i = 0; i < 4; i++) {
        struct ag_payload *p = fx_traces(1, 1, 2, &name);
        ASSERT_NOT_NULL(ag_arena_alloc(p->arena, 2u << 20));
        ag_payload_account(p);
        ASSERT(ag_payload_footprint(p) > (2u << 20));
        ASSERT(ag_payload_footprint(p) < (2u << 20) + (64u << 10));
        ASSERT_OK(proc.in.consume(proc.in.self, p));
        ag_payload_unref(p);
        ASSERT_UEQ(rec.n, i == 3 ? 1 : 0);
    }
    ASSERT_UEQ(rec.got[0]->items, 8);
    char names[128];
    fx_names(rec.got[0], names, sizeof(names));
    ASSERT_STREQ(names, "s0 s1 s2 s3 s4 s5 s6 s7");
    /* The batch holds nothing now: one more small payload waits for the timer or a flush. */
    struct ag_payload *p = fx_traces(1, 1, 1, &name);
    ASSERT_OK(proc.in.consume(proc.in.self, p));
    ag_payload_unref(p);
    ASSERT_UEQ(rec.n, 1);
    proc.flush(proc.self);
    ASSERT_UEQ(rec.n, 2);
    fx_names(rec.got[1], names, sizeof(names));
    ASSERT_STREQ(names, "s8");
    recorder_clear(&rec);
    proc.destroy(proc.self);
    event_base_free(base);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static double dropped(const char *id)
{
    char labels[128];
    snprintf(labels, sizeof(labels), "processor=\"%s\",signal=\"traces\"", id);
    return ag_metric_value(ag_metrics_counter("otter_processor_dropped_total", "", labels));
}

static void run_for_ms(struct event_base *base, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static void consume_n(struct ag_processor *proc, int spans, int *name, int want_rc)
{
    struct ag_payload *p = fx_traces(1, 1, spans, name);
    ASSERT_EQ(proc->in.consume(proc->in.self, p), want_rc);
    ag_payload_unref(p);
}

/* A batch the next stage refuses for now (AG_EAGAIN) was acknowledged to its clients: it is
 * kept and offered again, and meanwhile new data is refused with AG_EAGAIN (the client keeps
 * it). Nothing is dropped. */
static void test_batch_refused_is_kept_and_retried(void)
{
    struct event_base *base = event_base_new();
    struct recorder rec = {.n = 0, .answer = AG_EAGAIN};
    struct ag_component_env env = env_for(base, &rec);
    env.id = "batch/keep";
    struct ag_batch_config cfg = {.send_batch_size = 2, .timeout = 10ull * 1000000000ull};
    struct ag_processor proc;
    char err[128];
    ASSERT_OK(ag_batch_new(&cfg, &env, &proc, err, sizeof(err)));
    int name = 0;
    consume_n(&proc, 3, &name, 0);         /* s0-s2: 3 >= 2, sent, refused, kept */
    int refused_name = name;
    consume_n(&proc, 1, &name, AG_EAGAIN); /* refused: the client keeps s3 */
    run_for_ms(base, 50);                  /* retries at 10, 20 (and 40) ms: still refused */
    ASSERT_UEQ(rec.n, 0);
    rec.answer = 0;
    run_for_ms(base, 1100); /* the next retry (at most 1 s later) is taken */
    ASSERT_UEQ(rec.n, 1);
    char names[128];
    fx_names(rec.got[0], names, sizeof(names));
    ASSERT_STREQ(names, "s0 s1 s2");
    name = refused_name; /* the client sends s3 again */
    consume_n(&proc, 1, &name, 0);
    proc.flush(proc.self);
    ASSERT_UEQ(rec.n, 2);
    fx_names(rec.got[1], names, sizeof(names));
    ASSERT_STREQ(names, "s3");
    ASSERT(dropped("batch/keep") == 0);
    recorder_clear(&rec);
    proc.destroy(proc.self);
    event_base_free(base);
    ag_metrics_reset();
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

/* A request split by send_batch_max_size 2 (5 spans: chunks of 2, 2, 1) whose first chunk is
 * refused: the other chunks are held (the request was accepted), then sent in order, each at
 * most 2 spans, once the first is taken. */
static void test_batch_refused_mid_split(void)
{
    struct event_base *base = event_base_new();
    struct recorder rec = {.n = 0, .answer = AG_EAGAIN};
    struct ag_component_env env = env_for(base, &rec);
    env.id = "batch/split";
    struct ag_batch_config cfg = {
        .send_batch_size = 2, .send_batch_max_size = 2, .timeout = 10ull * 1000000000ull};
    struct ag_processor proc;
    char err[128];
    ASSERT_OK(ag_batch_new(&cfg, &env, &proc, err, sizeof(err)));
    int name = 0;
    consume_n(&proc, 5, &name, 0);
    ASSERT_UEQ(rec.n, 0);
    rec.answer = 0;
    run_for_ms(base, 100);
    ASSERT_UEQ(rec.n, 3);
    const char *want[] = {"s0 s1", "s2 s3", "s4"};
    for (size_t i = 0; i < 3; i++) {
        char names[128];
        fx_names(rec.got[i], names, sizeof(names));
        ASSERT_STREQ(names, want[i]);
    }
    ASSERT(dropped("batch/split") == 0);
    recorder_clear(&rec);
    proc.destroy(proc.self);
    event_base_free(base);
    ag_metrics_reset();
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

/* Dropped and counted: a batch the next stage failed on for good, and at shutdown a batch it
 * still refuses. */
static void test_batch_drop_is_counted(void)
{
    struct event_base *base = event_base_new();
    struct recorder rec = {.n = 0, .answer = AG_EUPSTREAM};
    struct ag_component_env env = env_for(base, &rec);
    env.id = "batch/drop";
    struct ag_batch_config cfg = {.send_batch_size = 2, .timeout = 10ull * 1000000000ull};
    struct ag_processor proc;
    char err[128];
    ASSERT_OK(ag_batch_new(&cfg, &env, &proc, err, sizeof(err)));
    int name = 0;
    consume_n(&proc, 3, &name, 0);
    ASSERT(dropped("batch/drop") == 3);
    rec.answer = AG_EAGAIN;
    consume_n(&proc, 2, &name, 0); /* kept */
    ASSERT(dropped("batch/drop") == 3);
    proc.flush(proc.self);         /* shutdown: still refused */
    ASSERT(dropped("batch/drop") == 5);
    proc.destroy(proc.self);
    event_base_free(base);
    ag_metrics_reset();
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static void test_memory_limiter_refuses_over_limit(void)
{
    struct event_base *base = event_base_new();
    struct recorder rec = {.n = 0};
    struct ag_component_env env = env_for(base, &rec);
    struct ag_processor proc;
    char err[128];
    /* Any process's resident memory is over 1 MiB - 0.2 MiB: everything is refused. */
    struct ag_memory_limiter_config tiny = {.check_interval = 1000000000ull, .limit_mib = 1};
    ASSERT_OK(ag_memory_limiter_new(&tiny, &env, &proc, err, sizeof(err)));
    int name = 0;
    struct ag_payload *p = fx_traces(1, 1, 1, &name);
    ASSERT_EQ(proc.in.consume(proc.in.self, p), AG_EAGAIN);
    ASSERT_UEQ(rec.n, 0);
    proc.destroy(proc.self);
    /* A generous limit lets data through. */
    struct ag_memory_limiter_config big = {.check_interval = 1000000000ull, .limit_mib = 4096};
    ASSERT_OK(ag_memory_limiter_new(&big, &env, &proc, err, sizeof(err)));
    ASSERT_OK(proc.in.consume(proc.in.self, p));
    ASSERT_UEQ(rec.n, 1);
    proc.destroy(proc.self);
    /* A spike as large as the limit is a configuration error. */
    struct ag_memory_limiter_config bad = {
        .check_interval = 1000000000ull, .limit_mib = 10, .spike_limit_mib = 10};
    ASSERT_EQ(ag_memory_limiter_new(&bad, &env, &proc, err, sizeof(err)), AG_EINVAL);
    ASSERT_STRCONTAINS(err, "spike");
    ag_payload_unref(p);
    recorder_clear(&rec);
    event_base_free(base);
}

static const char *attr(const struct ag_payload *p, size_t r, const char *key)
{
    const Opentelemetry__Proto__Resource__V1__Resource *res =
        ((const fx_req *)p->msg)->resource_spans[r]->resource;
    for (size_t i = 0; i < res->n_attributes; i++) {
        if (strcmp(res->attributes[i]->key, key) == 0) {
            return res->attributes[i]->value->string_value;
        }
    }
    return NULL;
}

static void test_resource_detection_env_and_eks(void)
{
    struct event_base *base = event_base_new();
    struct recorder rec = {.n = 0};
    struct ag_component_env env = env_for(base, &rec);
    setenv("OTEL_RESOURCE_ATTRIBUTES",
           "service.name=checkout, deployment.environment=dev%20eu,"
           "bad-entry",
           1);
    setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
    setenv("K8S_CLUSTER_NAME", "otter-dev", 1);
    setenv("K8S_NODE_NAME", "ip-10-0-1-2.ec2.internal", 1);
    setenv("K8S_POD_NAME", "chatbot-7d9", 1);
    setenv("K8S_NAMESPACE", "apps", 1);
    char *detectors[] = {"env", "eks"};
    struct ag_resource_detection_config cfg = {
        .detectors = detectors, .n_detectors = 2, .override = 1};
    struct ag_processor proc;
    char err[128];
    ASSERT_OK(ag_resource_detection_new(&cfg, &env, &proc, err, sizeof(err)));
    int name = 0;
    struct ag_payload *p = fx_traces(2, 1, 1, &name);
    ASSERT_OK(proc.in.consume(proc.in.self, p));
    ASSERT_UEQ(rec.n, 1);
    struct ag_payload *got = rec.got[0];
    ASSERT_STREQ(attr(got, 0, "service.name"), "checkout");
    ASSERT_STREQ(attr(got, 1, "deployment.environment"), "dev eu");
    ASSERT_STREQ(attr(got, 1, "cloud.provider"), "aws");
    ASSERT_STREQ(attr(got, 0, "cloud.platform"), "aws_eks");
    ASSERT_STREQ(attr(got, 0, "k8s.cluster.name"), "otter-dev");
    ASSERT_STREQ(attr(got, 0, "k8s.node.name"), "ip-10-0-1-2.ec2.internal");
    ASSERT_STREQ(attr(got, 0, "k8s.pod.name"), "chatbot-7d9");
    ASSERT_STREQ(attr(got, 0, "k8s.namespace.name"), "apps");
    /* The payload the receiver holds is untouched. */
    ASSERT_NULL(attr(p, 0, "service.name"));
    proc.destroy(proc.self);
    ag_payload_unref(p);
    recorder_clear(&rec);

    /* An unknown detector is an error naming it. */
    char *bad[] = {"docker"};
    struct ag_resource_detection_config cfg2 = {.detectors = bad, .n_detectors = 1};
    ASSERT_EQ(ag_resource_detection_new(&cfg2, &env, &proc, err, sizeof(err)), AG_EINVAL);
    ASSERT_STRCONTAINS(err, "docker");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    event_base_free(base);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

AG_TEST_MAIN(AG_TEST_CASE(test_batch_size_trigger), AG_TEST_CASE(test_batch_timeout_and_flush),
             AG_TEST_CASE(test_batch_max_size_splits), AG_TEST_CASE(test_batch_byte_bound),
             AG_TEST_CASE(test_batch_refused_is_kept_and_retried),
             AG_TEST_CASE(test_batch_refused_mid_split),
             AG_TEST_CASE(test_batch_drop_is_counted),
             AG_TEST_CASE(test_memory_limiter_refuses_over_limit),
             AG_TEST_CASE(test_resource_detection_env_and_eks))
