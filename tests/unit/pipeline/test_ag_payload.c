/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Payload reference counting, the in-flight byte total, and the zero-copy merge, split and
 * resource copy the processors rely on.
 */
#include "ag_test.h"
#include "ag_mem.h"
#include "pipeline_fixture.h"

static void test_refcount_and_bytes(void)
{
    int name = 0;
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
    struct ag_payload *p = fx_traces(1, 1, 3, &name);
    ASSERT_NOT_NULL(p);
    ASSERT(ag_payload_bytes_in_flight() >= 16 * 1024);
    ag_payload_ref(p);
    ag_payload_unref(p);
    ASSERT(ag_payload_bytes_in_flight() > 0);
    ag_payload_unref(p);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static void test_split_keeps_order_and_caps_chunks(void)
{
    int name = 0;
    /* 2 resources x 2 scopes x 3 spans = 12 spans: s0..s11. */
    struct ag_payload *p = fx_traces(2, 2, 3, &name);
    struct ag_payload **chunks = NULL;
    long n = ag_payload_split(p, 5, &chunks);
    ASSERT_EQ(n, 3);
    char names[256];
    fx_names(chunks[0], names, sizeof(names));
    ASSERT_STREQ(names, "s0 s1 s2 s3 s4");
    fx_names(chunks[1], names, sizeof(names));
    ASSERT_STREQ(names, "s5 s6 s7 s8 s9");
    fx_names(chunks[2], names, sizeof(names));
    ASSERT_STREQ(names, "s10 s11");
    ASSERT_UEQ(chunks[0]->items, 5);
    ASSERT_UEQ(chunks[2]->items, 2);
    /* Chunk 1 starts in resource 0's second scope and ends in resource 1's first: 2 resources. */
    ASSERT_UEQ(((fx_req *)chunks[1]->msg)->n_resource_spans, 2);
    /* The original is untouched. */
    fx_names(p, names, sizeof(names));
    ASSERT_STREQ(names, "s0 s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11");
    ag_payload_unref(p);
    /* The chunks keep the original's memory alive. */
    fx_names(chunks[2], names, sizeof(names));
    ASSERT_STREQ(names, "s10 s11");
    for (long i = 0; i < n; i++) {
        ag_payload_unref(chunks[i]);
    }
    ag_free(chunks);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static void test_split_exact_multiple(void)
{
    int name = 0;
    struct ag_payload *p = fx_traces(1, 1, 6, &name);
    struct ag_payload **chunks = NULL;
    long n = ag_payload_split(p, 3, &chunks);
    ASSERT_EQ(n, 2);
    ASSERT_UEQ(chunks[0]->items + chunks[1]->items, 6);
    for (long i = 0; i < n; i++) {
        ag_payload_unref(chunks[i]);
    }
    ag_free(chunks);
    ag_payload_unref(p);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static void test_merge(void)
{
    int name = 0;
    struct ag_payload *a = fx_traces(1, 1, 2, &name);
    struct ag_payload *b = fx_traces(2, 1, 1, &name);
    struct ag_payload *parts[] = {a, b};
    struct ag_payload *m = ag_payload_merge(parts, 2);
    ASSERT_NOT_NULL(m);
    ASSERT_UEQ(m->items, 4);
    ASSERT_UEQ(((fx_req *)m->msg)->n_resource_spans, 3);
    char names[128];
    fx_names(m, names, sizeof(names));
    ASSERT_STREQ(names, "s0 s1 s2 s3");
    /* The merge keeps both parts alive: its footprint is its own arena plus theirs, each read
     * from the arenas themselves. */
    ASSERT_UEQ(ag_payload_footprint(a), ag_arena_footprint(a->arena));
    ASSERT_UEQ(ag_payload_footprint(m), ag_arena_footprint(m->arena) +
                                            ag_arena_footprint(a->arena) +
                                            ag_arena_footprint(b->arena));
    ag_payload_unref(a);
    ag_payload_unref(b);
    fx_names(m, names, sizeof(names));
    ASSERT_STREQ(names, "s0 s1 s2 s3");
    ag_payload_unref(m);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

static void add_attr(struct ag_payload *p, ProtobufCMessage *resmsg, void *arg)
{
    Opentelemetry__Proto__Resource__V1__Resource *res = (void *)resmsg;
    Opentelemetry__Proto__Common__V1__KeyValue *kv = ag_arena_calloc(p->arena, sizeof(*kv));
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = arg;
    res->attributes[res->n_attributes++] = kv;
}

static void test_own_resources_leaves_original_alone(void)
{
    int name = 0;
    struct ag_payload *p = fx_traces(2, 1, 1, &name);
    struct ag_payload *q = ag_payload_own_resources(p, 1);
    ASSERT_NOT_NULL(q);
    ASSERT_OK(ag_payload_foreach_resource(q, add_attr, "added"));
    ag_payload_account(q);
    fx_req *pr = (fx_req *)p->msg, *qr = (fx_req *)q->msg;
    ASSERT_UEQ(qr->resource_spans[0]->resource->n_attributes, 1);
    ASSERT_UEQ(qr->resource_spans[1]->resource->n_attributes, 1);
    ASSERT_STREQ(qr->resource_spans[1]->resource->attributes[0]->key, "added");
    ASSERT_UEQ(pr->resource_spans[0]->resource->n_attributes, 0);
    ASSERT_UEQ(pr->resource_spans[1]->resource->n_attributes, 0);
    ag_payload_unref(q);
    ag_payload_unref(p);
    ASSERT_UEQ(ag_payload_bytes_in_flight(), 0);
}

AG_TEST_MAIN(AG_TEST_CASE(test_refcount_and_bytes),
             AG_TEST_CASE(test_split_keeps_order_and_caps_chunks),
             AG_TEST_CASE(test_split_exact_multiple), AG_TEST_CASE(test_merge),
             AG_TEST_CASE(test_own_resources_leaves_original_alone))
