/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ag_config: an ADOT-style config, the defaults of every component, each kind of
 * error with its position, warnings for keys otterd accepts but ignores, env expansion, the
 * built-in default config and endpoint splitting. Every line:col below was counted by hand from
 * the YAML text next to it (line numbers are in the comments at the end of each line).
 */
#include "ag_test.h"
#include "ag_config.h"
#include "config_check.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB 1048576ull
#define SEC 1000000000ull

/* Lines 1-6 of most configs below: an otlp receiver (gRPC) and a nop exporter. */
#define HEAD                                                                                \
    "receivers:\n"        /* 1 */                                                           \
    "  otlp:\n"           /* 2 */                                                           \
    "    protocols:\n"    /* 3 */                                                           \
    "      grpc:\n"       /* 4 */                                                           \
    "exporters:\n"        /* 5 */                                                           \
    "  nop:\n"            /* 6 */

/* A valid service section using only what HEAD defines. */
#define TAIL                                                                                \
    "service:\n"                                                                            \
    "  pipelines:\n"                                                                        \
    "    traces:\n"                                                                         \
    "      receivers: [otlp]\n"                                                             \
    "      exporters: [nop]\n"

static const struct ag_component_config *comp(const struct ag_config *cfg,
                                              enum ag_component_kind kind, const char *id)
{
    long i = ag_config_find(cfg, kind, id);
    return i >= 0 ? &cfg->components[i] : NULL;
}

static void test_adot_style(void)
{
    const char *y = "extensions:\n"                         /* 1 */
                    "  health_check:\n"                     /* 2 */
                    "receivers:\n"                          /* 3 */
                    "  otlp:\n"                             /* 4 */
                    "    protocols:\n"                      /* 5 */
                    "      grpc:\n"                         /* 6 */
                    "        endpoint: 0.0.0.0:4317\n"      /* 7 */
                    "      http:\n"                         /* 8 */
                    "        endpoint: 0.0.0.0:4318\n"      /* 9 */
                    "processors:\n"                         /* 10 */
                    "  batch/traces:\n"                     /* 11 */
                    "    timeout: 1s\n"                     /* 12 */
                    "    send_batch_size: 50\n"             /* 13 */
                    "  batch/metrics:\n"                    /* 14 */
                    "    timeout: 60s\n"                    /* 15 */
                    "exporters:\n"                          /* 16 */
                    "  debug:\n"                            /* 17 */
                    "    verbosity: detailed\n"             /* 18 */
                    "  file:\n"                             /* 19 */
                    "    path: out/metrics.jsonl\n"         /* 20 */
                    "service:\n"                            /* 21 */
                    "  pipelines:\n"                        /* 22 */
                    "    traces:\n"                         /* 23 */
                    "      receivers: [otlp]\n"             /* 24 */
                    "      processors: [batch/traces]\n"    /* 25 */
                    "      exporters: [debug]\n"            /* 26 */
                    "    metrics:\n"                        /* 27 */
                    "      receivers: [otlp]\n"             /* 28 */
                    "      processors: [batch/metrics]\n"   /* 29 */
                    "      exporters: [file]\n"             /* 30 */
                    "  extensions: [health_check]\n";       /* 31 */
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    ag_buf_cleanup(&d);
    ASSERT_STREQ(cfg->source, "t");
    ASSERT_EQ(cfg->n_components, 6);
    /* Sections are read in a fixed order: receivers, processors, exporters, extensions. */
    ASSERT_STREQ(cfg->components[0].id, "otlp");
    ASSERT_EQ(cfg->components[0].kind, AG_KIND_RECEIVER);
    ASSERT_EQ(cfg->components[0].type, AG_COMP_OTLP_RECEIVER);
    ASSERT_EQ(cfg->components[0].loc.line, 4);
    ASSERT_EQ(cfg->components[0].loc.col, 3);
    ASSERT_STREQ(cfg->components[1].id, "batch/traces");
    ASSERT_STREQ(cfg->components[2].id, "batch/metrics");
    ASSERT_STREQ(cfg->components[3].id, "debug");
    ASSERT_STREQ(cfg->components[4].id, "file");
    ASSERT_STREQ(cfg->components[5].id, "health_check");
    ASSERT_EQ(cfg->components[5].loc.line, 2);

    const struct ag_otlp_receiver_config *o = &cfg->components[0].u.otlp;
    ASSERT_EQ(o->grpc_enabled, 1);
    ASSERT_STREQ(o->grpc_endpoint, "0.0.0.0:4317");
    ASSERT_EQ(o->http_enabled, 1);
    ASSERT_STREQ(o->http_endpoint, "0.0.0.0:4318");

    const struct ag_batch_config *bt = &cfg->components[1].u.batch;
    ASSERT_UEQ(bt->timeout, 1 * SEC);
    ASSERT_EQ(bt->send_batch_size, 50);
    ASSERT_EQ(bt->send_batch_max_size, 0);
    const struct ag_batch_config *bm = &cfg->components[2].u.batch;
    ASSERT_UEQ(bm->timeout, 60 * SEC);
    ASSERT_EQ(bm->send_batch_size, 8192);
    ASSERT_EQ(cfg->components[3].u.debug.verbosity, AG_DEBUG_DETAILED);
    ASSERT_STREQ(cfg->components[4].u.file.path, "out/metrics.jsonl");
    ASSERT_STREQ(cfg->components[5].u.health_check.endpoint, "localhost:13133");
    ASSERT_STREQ(cfg->components[5].u.health_check.path, "/");

    ASSERT_EQ(cfg->n_pipelines, 2);
    const struct ag_pipeline_config *p = &cfg->pipelines[0];
    ASSERT_STREQ(p->id, "traces");
    ASSERT_EQ(p->signal, AG_SIGNAL_TRACES);
    ASSERT_EQ(p->loc.line, 23);
    ASSERT_EQ(p->loc.col, 5);
    ASSERT_EQ(p->n_receivers, 1);
    ASSERT_EQ(p->receivers[0], 0);
    ASSERT_EQ(p->n_processors, 1);
    ASSERT_EQ(p->processors[0], 1);
    ASSERT_EQ(p->n_exporters, 1);
    ASSERT_EQ(p->exporters[0], 3);
    p = &cfg->pipelines[1];
    ASSERT_STREQ(p->id, "metrics");
    ASSERT_EQ(p->signal, AG_SIGNAL_METRICS);
    ASSERT_EQ(p->processors[0], 2);
    ASSERT_EQ(p->exporters[0], 4);
    ASSERT_EQ(cfg->n_extensions, 1);
    ASSERT_EQ(cfg->extensions[0], 5);

    ASSERT_EQ(ag_config_find(cfg, AG_KIND_PROCESSOR, "batch/metrics"), 2);
    ASSERT_EQ(ag_config_find(cfg, AG_KIND_EXPORTER, "batch/metrics"), -1);
    ASSERT_EQ(ag_config_find(cfg, AG_KIND_RECEIVER, "nope"), -1);
    ag_config_free(cfg);
}

static void test_adot_default_with_awsxray(void)
{
    /* ADOT's image config (otlp.md 10.1): its AWS exporters are errors, reported where written,
     * and the pipelines that name them add nothing. Its awsxray receiver (line 10) is valid. */
    const char *y = "extensions:\n"                            /* 1 */
                    "  health_check:\n"                        /* 2 */
                    "receivers:\n"                             /* 3 */
                    "  otlp:\n"                                /* 4 */
                    "    protocols:\n"                         /* 5 */
                    "      grpc:\n"                            /* 6 */
                    "        endpoint: 0.0.0.0:4317\n"         /* 7 */
                    "      http:\n"                            /* 8 */
                    "        endpoint: 0.0.0.0:4318\n"         /* 9 */
                    "  awsxray:\n"                             /* 10 */
                    "    endpoint: 0.0.0.0:2000\n"             /* 11 */
                    "    transport: udp\n"                     /* 12 */
                    "processors:\n"                            /* 13 */
                    "  batch/traces:\n"                        /* 14 */
                    "    timeout: 1s\n"                        /* 15 */
                    "    send_batch_size: 50\n"                /* 16 */
                    "  batch/metrics:\n"                       /* 17 */
                    "    timeout: 60s\n"                       /* 18 */
                    "exporters:\n"                             /* 19 */
                    "  awsxray:\n"                             /* 20 */
                    "  awsemf:\n"                              /* 21 */
                    "service:\n"                               /* 22 */
                    "  pipelines:\n"                           /* 23 */
                    "    traces:\n"                            /* 24 */
                    "      receivers: [otlp,awsxray]\n"        /* 25 */
                    "      processors: [batch/traces]\n"       /* 26 */
                    "      exporters: [awsxray]\n"             /* 27 */
                    "    metrics:\n"                           /* 28 */
                    "      receivers: [otlp]\n"                /* 29 */
                    "      processors: [batch/metrics]\n"      /* 30 */
                    "      exporters: [awsemf]\n"              /* 31 */
                    "  extensions: [health_check]\n";          /* 32 */
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ag_buf_cleanup(&d);
    const struct ag_awsemf_config *e = &comp(cfg, AG_KIND_EXPORTER, "awsemf")->u.awsemf;
    /* ADOT's defaults (emf-cwlogs.md 5, 8). */
    ASSERT_EQ(e->rollup, 0);
    ASSERT_EQ(e->version0, 0);
    ASSERT_EQ(e->output_stdout, 0);
    ASSERT_NULL(e->namespace_);
    ASSERT_NULL(e->log_group_name);
    ASSERT_EQ(e->metric_declarations.n, 0);
    ASSERT_EQ(e->delta_max_entries, 100000);
    ASSERT_UEQ(e->delta_ttl, 300000000000ull);
    ASSERT_UEQ(e->max_event_size, 262144);
    ASSERT_EQ(e->queue_size, 1000);
    ASSERT_EQ(e->aws.num_workers, 8);
    ag_config_free(cfg);
}

#define EMF_HEAD                                                                            \
    "receivers:\n"        /* 1 */                                                           \
    "  otlp:\n"           /* 2 */                                                           \
    "    protocols:\n"    /* 3 */                                                           \
    "      grpc:\n"       /* 4 */                                                           \
    "exporters:\n"        /* 5 */                                                           \
    "  awsemf:\n"         /* 6 */
#define EMF_TAIL                                                                            \
    "service:\n"                                                                            \
    "  pipelines:\n"                                                                        \
    "    metrics:\n"                                                                        \
    "      receivers: [otlp]\n"                                                             \
    "      exporters: [awsemf]\n"

static void test_awsemf_options(void)
{
    const char *y = EMF_HEAD
        "    region: us-west-2\n"
        "    namespace: App\n"
        "    log_group_name: /aws/ecs/{ClusterName}\n"
        "    log_stream_name: '{TaskId}'\n"
        "    log_retention: 7\n"
        "    tags: {team: obs}\n"
        "    dimension_rollup_option: NoDimensionRollup\n"
        "    detailed_metrics: true\n"
        "    retain_initial_value_of_delta_metric: true\n"
        "    resource_to_telemetry_conversion:\n"
        "      enabled: true\n"
        "    output_destination: stdout\n"
        "    version: \"0\"\n"
        "    parse_json_encoded_attr_values: [Sources, kubernetes]\n"
        "    eks_fargate_container_insights_enabled: false\n"
        "    delta_max_entries: 10\n"
        "    delta_ttl: 1m\n"
        "    metric_declarations:\n"
        "      - dimensions: [[ClusterName, TaskId], [ClusterName]]\n"
        "        metric_name_selectors: ['^cpu_', 'mem']\n"
        "        label_matchers:\n"
        "          - label_names: [Service, Namespace]\n"
        "            separator: ':'\n"
        "            regex: '^api:'\n"
        "      - metric_name_selectors: [latency]\n"
        "    metric_descriptors:\n"
        "      - metric_name: latency\n"
        "        unit: Milliseconds\n"
        "        overwrite: true\n"
        EMF_TAIL;
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ag_buf_cleanup(&d);
    const struct ag_awsemf_config *e = &comp(cfg, AG_KIND_EXPORTER, "awsemf")->u.awsemf;
    ASSERT_STREQ(e->aws.region, "us-west-2");
    ASSERT_STREQ(e->namespace_, "App");
    ASSERT_STREQ(e->log_group_name, "/aws/ecs/{ClusterName}");
    ASSERT_STREQ(e->log_stream_name, "{TaskId}");
    ASSERT_EQ(e->log_retention, 7);
    ASSERT_EQ(e->tags.n, 1);
    ASSERT_EQ(e->rollup, 2);
    ASSERT_EQ(e->detailed_metrics, 1);
    ASSERT_EQ(e->retain_initial_value_of_delta_metric, 1);
    ASSERT_EQ(e->resource_to_telemetry_conversion, 1);
    ASSERT_EQ(e->output_stdout, 1);
    ASSERT_EQ(e->version0, 1);
    ASSERT_EQ(e->n_parse_json_encoded_attr_values, 2);
    ASSERT_EQ(e->delta_max_entries, 10);
    ASSERT_UEQ(e->delta_ttl, 60000000000ull);
    ASSERT_EQ(e->metric_declarations.n, 2);
    const struct ag_emf_declaration *d0 = &e->metric_declarations.items[0];
    ASSERT_EQ(d0->n_dimensions, 2);
    ASSERT_EQ(d0->n_dimension_names[0], 2);
    ASSERT_STREQ(d0->dimensions[0][1], "TaskId");
    ASSERT_EQ(d0->n_metric_name_selectors, 2);
    ASSERT_EQ(d0->n_label_matchers, 1);
    ASSERT_STREQ(d0->label_matchers[0].separator, ":");
    ASSERT_STREQ(d0->label_matchers[0].regex, "^api:");
    ASSERT_EQ(d0->label_matchers[0].n_label_names, 2);
    ASSERT_EQ(e->metric_declarations.items[1].n_dimensions, 0);
    ASSERT_EQ(e->metric_descriptors.n, 1);
    ASSERT_STREQ(e->metric_descriptors.items[0].unit, "Milliseconds");
    ASSERT_EQ(e->metric_descriptors.items[0].overwrite, 1);
    ag_config_free(cfg);
    /* Other roll-up names, as upstream: anything else means none. */
    ASSERT_OK(load(EMF_HEAD "    dimension_rollup_option: SingleDimensionRollupOnly\n" EMF_TAIL,
                   &cfg, &d));
    ag_buf_cleanup(&d);
    ASSERT_EQ(comp(cfg, AG_KIND_EXPORTER, "awsemf")->u.awsemf.rollup, 1);
    ag_config_free(cfg);
}

/* Every allocation of the awsemf parsers may fail: no leak, no crash, AG_ENOMEM. */
static void test_awsemf_failmalloc(void)
{
#if AG_FAILMALLOC
    const char *y = EMF_HEAD
        "    namespace: App\n"
        "    tags: {team: obs}\n"
        "    parse_json_encoded_attr_values: [a, b]\n"
        "    metric_declarations:\n"
        "      - dimensions: [[x, y], [z]]\n"
        "        metric_name_selectors: ['^a', b]\n"
        "        label_matchers:\n"
        "          - {label_names: [x, y], separator: ':', regex: '^1'}\n"
        "          - {label_names: [z], regex: q}\n"
        "      - metric_name_selectors: [c]\n"
        "    metric_descriptors:\n"
        "      - {metric_name: a, unit: Count}\n"
        "      - {metric_name: b, unit: Bytes, overwrite: true}\n"
        EMF_TAIL;
    struct ag_config *cfg = NULL;
    ASSERT(failing_loads(y, &cfg) > 20);
    ASSERT_EQ(comp(cfg, AG_KIND_EXPORTER, "awsemf")->u.awsemf.metric_declarations.n, 2);
    ag_config_free(cfg);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

static void test_awsemf_errors(void)
{
    ASSERT_FAILS(EMF_HEAD "    version: \"2\"\n" EMF_TAIL,
                 "t:7:14: error: exporters::awsemf::version: expected \"0\" or \"1\", got '2'\n");
    ASSERT_FAILS(EMF_HEAD "    output_destination: file\n" EMF_TAIL,
                 "t:7:25: error: exporters::awsemf::output_destination: expected cloudwatch or "
                 "stdout, got 'file'\n");
    ASSERT_FAILS(EMF_HEAD "    log_retention: 2\n" EMF_TAIL,
                 "t:7:20: error: exporters::awsemf: log_retention must be 0 (never expire) or "
                 "one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, "
                 "1827, 2192, 2557, 2922, 3288, 3653 (days), got 2\n");
    ASSERT_FAILS(EMF_HEAD "    metric_declarations:\n"
                          "      - metric_name_selectors: ['(']\n" EMF_TAIL,
                 "t:8:33: error: exporters::awsemf::metric_declarations: invalid regular "
                 "expression: Unmatched ( or \\(\n");
    ASSERT_FAILS(EMF_HEAD "    metric_declarations:\n"
                          "      - dimensions: [[a]]\n" EMF_TAIL,
                 "t:8:9: error: exporters::awsemf::metric_declarations: metric_name_selectors "
                 "is required\n");
    ASSERT_FAILS(EMF_HEAD "    metric_declarations:\n"
                          "      - metric_name_selectors: [a]\n"
                          "        bogus: 1\n" EMF_TAIL,
                 "t:9:9: error: exporters::awsemf::metric_declarations: unknown key 'bogus'\n");
    /* A key that spans lines (a folded flow scalar) is quoted: one line per diagnostic (found
     * by fuzz_config). */
    ASSERT_FAILS(EMF_HEAD "    metric_declarations:\n"
                          "      - {metric_name_selectors: [a], bo\n\n\n        gus}\n" EMF_TAIL,
                 "t:8:38: error: exporters::awsemf::metric_declarations: unknown key "
                 "'bo\\x0a\\x0agus'\n");
    ASSERT_FAILS(EMF_HEAD "    metric_descriptors:\n"
                          "      - metric_name: a\n" EMF_TAIL,
                 "t:8:9: error: exporters::awsemf::metric_descriptors: metric_name and unit are "
                 "required\n");
    ASSERT_FAILS(EMF_HEAD "    metric_declarations: {metric_name_selectors: [a]}\n" EMF_TAIL,
                 "t:7:26: error: exporters::awsemf::metric_declarations: expected a list of "
                 "declarations\n");
    ASSERT_FAILS(EMF_HEAD "    metric_descriptors: a\n" EMF_TAIL,
                 "t:7:25: error: exporters::awsemf::metric_descriptors: expected a list of "
                 "descriptors\n");
    ASSERT_FAILS(EMF_HEAD TAIL,
                 "t:11:19: error: pipeline traces references undefined exporter nop\n");
    ASSERT_FAILS(EMF_HEAD "  nop:\n" TAIL
                 "    logs:\n"
                 "      receivers: [otlp]\n"
                 "      exporters: [awsemf]\n",
                 "t:15:19: error: pipeline logs: exporter 'awsemf' takes metrics only\n");
}

static void test_awsxray_receiver(void)
{
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    const struct ag_component_config *x;

    /* Defaults: localhost:2000 (specs/xray.md 13.2; the collector's localhost default), udp. */
    ASSERT_OK(load("receivers:\n"
                   "  awsxray:\n"
                   "exporters:\n"
                   "  nop:\n"
                   "service:\n"
                   "  pipelines:\n"
                   "    traces:\n"
                   "      receivers: [awsxray]\n"
                   "      exporters: [nop]\n",
                   &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    x = comp(cfg, AG_KIND_RECEIVER, "awsxray");
    ASSERT_NOT_NULL(x);
    ASSERT_EQ(x->type, AG_COMP_AWSXRAY_RECEIVER);
    ASSERT_STREQ(x->u.awsxray_receiver.endpoint, "localhost:2000");
    ASSERT_STREQ(x->u.awsxray_receiver.transport, "udp");
    /* proxy_server is on by default, as in the collector, but not written. */
    ASSERT_STREQ(x->u.awsxray_receiver.proxy.endpoint, "localhost:2000");
    ASSERT_EQ(x->u.awsxray_receiver.proxy.configured, 0);
    ASSERT_STREQ(x->u.awsxray_receiver.proxy.service_name, "xray");
    ASSERT_NULL(x->u.awsxray_receiver.proxy.aws.region);
    ag_buf_cleanup(&d);
    ag_config_free(cfg);

    /* ADOT's keys, proxy_server's (the sampling relay) included. */
    const char *y = "receivers:\n"                                  /* 1 */
                    "  awsxray/sdk:\n"                              /* 2 */
                    "    endpoint: 0.0.0.0:2000\n"                  /* 3 */
                    "    transport: udp\n"                          /* 4 */
                    "    proxy_server:\n"                           /* 5 */
                    "      endpoint: 0.0.0.0:2000\n"                /* 6 */
                    "      region: us-west-2\n"                     /* 7 */
                    "      aws_endpoint: http://127.0.0.1:4566\n"   /* 8 */
                    "      role_arn: arn:aws:iam::123456789012:role/x\n" /* 9 */
                    "      service_name: xray\n"                    /* 10 */
                    "      tls: {insecure: true, server_name_override: h}\n" /* 11 */
                    "exporters:\n"                                  /* 12 */
                    "  nop:\n"                                      /* 13 */
                    "service:\n"                                    /* 14 */
                    "  pipelines:\n"                                /* 15 */
                    "    traces/xray:\n"                            /* 16 */
                    "      receivers: [awsxray/sdk]\n"              /* 17 */
                    "      exporters: [nop]\n";                     /* 18 */
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "t:11:29: warning: receivers::awsxray/sdk::proxy_server::tls::"
                                 "server_name_override is not implemented by otterd and is "
                                 "ignored\n");
    x = comp(cfg, AG_KIND_RECEIVER, "awsxray/sdk");
    ASSERT_NOT_NULL(x);
    ASSERT_STREQ(x->u.awsxray_receiver.endpoint, "0.0.0.0:2000");
    const struct ag_xray_proxy_config *px = &x->u.awsxray_receiver.proxy;
    ASSERT_EQ(px->configured, 1);
    ASSERT_STREQ(px->endpoint, "0.0.0.0:2000");
    ASSERT_STREQ(px->aws.region, "us-west-2");
    ASSERT_STREQ(px->aws.endpoint, "http://127.0.0.1:4566");
    ASSERT_STREQ(px->aws.role_arn, "arn:aws:iam::123456789012:role/x");
    ASSERT_EQ(px->aws.no_verify_ssl, 1);
    ASSERT_EQ(cfg->pipelines[0].n_receivers, 1);
    ASSERT_EQ(cfg->pipelines[0].receivers[0], (size_t)(x - cfg->components));
    ag_buf_cleanup(&d);
    ag_config_free(cfg);

    /* Only udp; a bad endpoint and an unknown key are errors where they are written. */
    ASSERT_FAILS("receivers:\n"                                     /* 1 */
                 "  awsxray:\n"                                     /* 2 */
                 "    transport: tcp\n"                             /* 3 */
                 "    endpoint: localhost\n"                        /* 4 */
                 "    version: 1\n"                                 /* 5 */
                 "exporters:\n"                                     /* 6 */
                 "  nop:\n"                                         /* 7 */
                 "service:\n"                                       /* 8 */
                 "  pipelines:\n"                                   /* 9 */
                 "    traces:\n"                                    /* 10 */
                 "      receivers: [awsxray]\n"                     /* 11 */
                 "      exporters: [nop]\n",                        /* 12 */
                 "t:3:16: error: receivers::awsxray::transport: transport 'tcp' is not supported "
                 "(the X-Ray daemon protocol is udp only)\n"
                 "t:4:15: error: receivers::awsxray::endpoint: invalid endpoint 'localhost': "
                 "expected host:port (the port is missing)\n"
                 "t:5:5: error: unknown key 'version' in receivers::awsxray\n");

    /* X-Ray documents are traces: any other pipeline naming the receiver is an error. */
    ASSERT_FAILS("receivers:\n"                                     /* 1 */
                 "  otlp:\n"                                        /* 2 */
                 "    protocols: {http: }\n"                        /* 3 */
                 "  awsxray:\n"                                     /* 4 */
                 "exporters:\n"                                     /* 5 */
                 "  nop:\n"                                         /* 6 */
                 "service:\n"                                       /* 7 */
                 "  pipelines:\n"                                   /* 8 */
                 "    traces:\n"                                    /* 9 */
                 "      receivers: [awsxray]\n"                     /* 10 */
                 "      exporters: [nop]\n"                         /* 11 */
                 "    metrics:\n"                                   /* 12 */
                 "      receivers: [otlp, awsxray]\n"               /* 13 */
                 "      exporters: [nop]\n"                         /* 14 */
                 "    logs/x:\n"                                    /* 15 */
                 "      receivers:\n"                               /* 16 */
                 "        - awsxray\n"                              /* 17 */
                 "      exporters: [nop]\n",                        /* 18 */
                 "t:13:25: error: pipeline metrics: receiver awsxray is an awsxray receiver, "
                 "which feeds traces pipelines only\n"
                 "t:17:11: error: pipeline logs/x: receiver awsxray is an awsxray receiver, "
                 "which feeds traces pipelines only\n");
}

static void test_defaults(void)
{
    const char *y = "receivers:\n"                                          /* 1 */
                    "  otlp:\n"                                             /* 2 */
                    "    protocols:\n"                                      /* 3 */
                    "      grpc:\n"                                         /* 4 */
                    "processors:\n"                                         /* 5 */
                    "  batch:\n"                                            /* 6 */
                    "  memory_limiter:\n"                                   /* 7 */
                    "    check_interval: 1s\n"                              /* 8 */
                    "    limit_mib: 100\n"                                  /* 9 */
                    "  resourcedetection:\n"                                /* 10 */
                    "exporters:\n"                                          /* 11 */
                    "  nop:\n"                                              /* 12 */
                    "  debug:\n"                                            /* 13 */
                    "  file:\n"                                             /* 14 */
                    "    path: out.jsonl\n"                                 /* 15 */
                    "service:\n"                                            /* 16 */
                    "  pipelines:\n"                                        /* 17 */
                    "    logs:\n"                                           /* 18 */
                    "      receivers: [otlp]\n"                             /* 19 */
                    "      processors: [memory_limiter, batch, resourcedetection]\n" /* 20 */
                    "      exporters: [nop, debug, file]\n";                /* 21 */
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    ag_buf_cleanup(&d);

    const struct ag_otlp_receiver_config *o = &comp(cfg, AG_KIND_RECEIVER, "otlp")->u.otlp;
    ASSERT_EQ(o->grpc_enabled, 1);
    ASSERT_STREQ(o->grpc_endpoint, "localhost:4317");
    ASSERT_UEQ(o->grpc_max_recv_msg_size, 4 * MIB);
    ASSERT_EQ(o->grpc_max_concurrent_streams, 0);
    ASSERT_UEQ(o->grpc_keepalive_max_connection_idle, 0);
    ASSERT_UEQ(o->grpc_keepalive_max_connection_age, 0);
    ASSERT_UEQ(o->grpc_keepalive_time, 0);
    ASSERT_UEQ(o->grpc_keepalive_min_time, 0);
    ASSERT_EQ(o->grpc_keepalive_permit_without_stream, 0);
    ASSERT_EQ(o->grpc_tls.enabled, 0);
    ASSERT_NULL(o->grpc_tls.cert_file);
    ASSERT_STREQ(o->grpc_tls.min_version, "1.2");
    ASSERT_EQ(o->http_enabled, 0);
    ASSERT_STREQ(o->http_endpoint, "localhost:4318");
    ASSERT_UEQ(o->http_max_request_body_size, 20971520);
    ASSERT_EQ(o->cors_enabled, 0);
    ASSERT_EQ(o->cors.n_allowed_origins, 0);
    ASSERT_STREQ(o->traces_url_path, "/v1/traces");
    ASSERT_STREQ(o->metrics_url_path, "/v1/metrics");
    ASSERT_STREQ(o->logs_url_path, "/v1/logs");
    ASSERT_UEQ(o->http_read_header_timeout, 60 * SEC);
    ASSERT_UEQ(o->http_idle_timeout, 60 * SEC);

    const struct ag_batch_config *b = &comp(cfg, AG_KIND_PROCESSOR, "batch")->u.batch;
    ASSERT_EQ(b->send_batch_size, 8192);
    ASSERT_EQ(b->send_batch_max_size, 0);
    ASSERT_UEQ(b->timeout, 200000000ull);

    const struct ag_memory_limiter_config *m =
        &comp(cfg, AG_KIND_PROCESSOR, "memory_limiter")->u.memory_limiter;
    ASSERT_UEQ(m->check_interval, 1 * SEC);
    ASSERT_UEQ(m->limit_mib, 100);
    ASSERT_UEQ(m->spike_limit_mib, 20);
    ASSERT_EQ(m->limit_percentage, 0);

    const struct ag_component_config *rc = comp(cfg, AG_KIND_PROCESSOR, "resourcedetection");
    ASSERT_NOT_NULL(rc);
    ASSERT_EQ(rc->type, AG_COMP_RESOURCE_DETECTION);
    ASSERT_EQ(rc->u.resource_detection.n_detectors, 0);
    ASSERT_EQ(rc->u.resource_detection.override, 1);
    ASSERT_UEQ(rc->u.resource_detection.timeout, 5 * SEC);
    ASSERT_STREQ(rc->u.resource_detection.eks_node_from_env_var, "K8S_NODE_NAME");

    ASSERT_EQ(comp(cfg, AG_KIND_EXPORTER, "nop")->type, AG_COMP_NOP);
    ASSERT_EQ(comp(cfg, AG_KIND_EXPORTER, "debug")->u.debug.verbosity, AG_DEBUG_BASIC);
    const struct ag_file_config *f = &comp(cfg, AG_KIND_EXPORTER, "file")->u.file;
    ASSERT_STREQ(f->path, "out.jsonl");
    ASSERT_UEQ(f->rotation_max_megabytes, 0); /* no rotation: block */
    ASSERT_EQ(f->rotation_max_backups, 100);
    ASSERT_EQ(f->rotation_max_days, 0);
    ASSERT_EQ(f->rotation_localtime, 0);
    ASSERT_EQ(f->append, 0);
    ASSERT_UEQ(f->flush_interval, 1 * SEC);

    ASSERT_EQ(cfg->log_level, AG_LOG_INFO);
    ASSERT_EQ(cfg->log_json, 0);
    ASSERT_STREQ(cfg->metrics_address, "localhost:8888");
    ASSERT_UEQ(cfg->shutdown_timeout, 10 * SEC);
    ASSERT_EQ(cfg->n_extensions, 0);
    ASSERT_EQ(cfg->n_pipelines, 1);
    ASSERT_STREQ(cfg->pipelines[0].id, "logs");
    ASSERT_EQ(cfg->pipelines[0].signal, AG_SIGNAL_LOGS);
    ASSERT_EQ(cfg->pipelines[0].n_processors, 3);
    ASSERT_EQ(cfg->pipelines[0].n_exporters, 3);
    ag_config_free(cfg);
}

static void test_otlp_options(void)
{
    const char *y = "receivers:\n"                                      /* 1 */
                    "  otlp:\n"                                         /* 2 */
                    "    protocols:\n"                                  /* 3 */
                    "      grpc:\n"                                     /* 4 */
                    "        endpoint: \"[::1]:0\"\n"                   /* 5 */
                    "        transport: tcp\n"                          /* 6 */
                    "        max_recv_msg_size_mib: 16\n"               /* 7 */
                    "        max_concurrent_streams: 64\n"              /* 8 */
                    "        tls:\n"                                    /* 9 */
                    "          cert_file: server.crt\n"                 /* 10 */
                    "          key_file: server.key\n"                  /* 11 */
                    "          client_ca_file: ca.crt\n"                /* 12 */
                    "          min_version: \"1.3\"\n"                  /* 13 */
                    "        keepalive:\n"                              /* 14 */
                    "          server_parameters:\n"                    /* 15 */
                    "            max_connection_idle: 11s\n"            /* 16 */
                    "            max_connection_age: 30s\n"             /* 17 */
                    "            max_connection_age_grace: 5s\n"        /* 18 */
                    "            time: 1m\n"                            /* 19 */
                    "            timeout: 2s\n"                         /* 20 */
                    "          enforcement_policy:\n"                   /* 21 */
                    "            min_time: 10s\n"                       /* 22 */
                    "            permit_without_stream: true\n"         /* 23 */
                    "      http:\n"                                     /* 24 */
                    "        endpoint: :4318\n"                         /* 25 */
                    "        max_request_body_size: 1048576\n"          /* 26 */
                    "        cors:\n"                                   /* 27 */
                    "          allowed_origins: [\"https://*.example.com\"]\n" /* 28 */
                    "          allowed_headers: [X-A, X-B]\n"           /* 29 */
                    "          max_age: 7200\n"                         /* 30 */
                    "        traces_url_path: v1/t\n"                   /* 31 */
                    "        read_header_timeout: 5s\n"                 /* 32 */
                    "        idle_timeout: 0\n"                         /* 33 */
                    "exporters:\n"                                      /* 34 */
                    "  nop:\n"                                          /* 35 */
                    TAIL;
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    ag_buf_cleanup(&d);
    const struct ag_otlp_receiver_config *o = &cfg->components[0].u.otlp;
    ASSERT_STREQ(o->grpc_endpoint, "[::1]:0");
    ASSERT_UEQ(o->grpc_max_recv_msg_size, 16 * MIB);
    ASSERT_EQ(o->grpc_max_concurrent_streams, 64);
    ASSERT_EQ(o->grpc_tls.enabled, 1);
    ASSERT_STREQ(o->grpc_tls.cert_file, "server.crt");
    ASSERT_STREQ(o->grpc_tls.key_file, "server.key");
    ASSERT_STREQ(o->grpc_tls.client_ca_file, "ca.crt");
    ASSERT_NULL(o->grpc_tls.ca_file);
    ASSERT_STREQ(o->grpc_tls.min_version, "1.3");
    ASSERT_UEQ(o->grpc_keepalive_max_connection_idle, 11 * SEC);
    ASSERT_UEQ(o->grpc_keepalive_max_connection_age, 30 * SEC);
    ASSERT_UEQ(o->grpc_keepalive_max_connection_age_grace, 5 * SEC);
    ASSERT_UEQ(o->grpc_keepalive_time, 60 * SEC);
    ASSERT_UEQ(o->grpc_keepalive_timeout, 2 * SEC);
    ASSERT_UEQ(o->grpc_keepalive_min_time, 10 * SEC);
    ASSERT_EQ(o->grpc_keepalive_permit_without_stream, 1);
    ASSERT_EQ(o->http_tls.enabled, 0);
    ASSERT_STREQ(o->http_endpoint, ":4318");
    ASSERT_UEQ(o->http_max_request_body_size, MIB);
    ASSERT_EQ(o->cors_enabled, 1);
    ASSERT_EQ(o->cors.n_allowed_origins, 1);
    ASSERT_STREQ(o->cors.allowed_origins[0], "https://*.example.com");
    ASSERT_EQ(o->cors.n_allowed_headers, 2);
    ASSERT_STREQ(o->cors.allowed_headers[1], "X-B");
    ASSERT_EQ(o->cors.max_age, 7200);
    ASSERT_STREQ(o->traces_url_path, "/v1/t"); /* the collector adds the leading slash too */
    ASSERT_STREQ(o->metrics_url_path, "/v1/metrics");
    ASSERT_UEQ(o->http_read_header_timeout, 5 * SEC);
    ASSERT_UEQ(o->http_idle_timeout, 0);
    ag_config_free(cfg);
}

/* pprof and zpages (ADOT's example configs list them): accepted, keys checked, not started. */
static void test_go_debug_extensions(void)
{
    ASSERT_FAILS(HEAD "extensions:\n"                                        /* 7 */
                      "  pprof:\n"                                           /* 8 */
                      "    endpoint: \"nohost\"\n"                           /* 9 */
                      "    cpu: 1\n"                                         /* 10 */
                      "service:\n"                                           /* 11 */
                      "  extensions: [pprof]\n"                              /* 12 */
                      "  pipelines:\n"                                       /* 13 */
                      "    traces: {receivers: [otlp], exporters: [nop]}\n", /* 14 */
                 "t:9:15: error: extensions::pprof::endpoint: invalid endpoint 'nohost': "
                 "expected host:port (the port is missing)\n"
                 "t:10:5: error: unknown key 'cpu' in extensions::pprof\n");
    const char *y = HEAD "extensions:\n"                                        /* 7 */
                         "  pprof:\n"                                           /* 8 */
                         "    endpoint: 0.0.0.0:1777\n"                         /* 9 */
                         "    block_profile_fraction: 3\n"                      /* 10 */
                         "  zpages:\n"                                          /* 11 */
                         "    endpoint: 0.0.0.0:55679\n"                        /* 12 */
                         "service:\n"                                           /* 13 */
                         "  extensions: [pprof, zpages]\n"                      /* 14 */
                         "  pipelines:\n"                                       /* 15 */
                         "    traces: {receivers: [otlp], exporters: [nop]}\n"; /* 16 */
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d),
                 "t:8:3: warning: extensions::pprof: otterd has no Go runtime to profile or "
                 "inspect: the extension is accepted and not started (its endpoint is not "
                 "opened)\n"
                 "t:11:3: warning: extensions::zpages: otterd has no Go runtime to profile or "
                 "inspect: the extension is accepted and not started (its endpoint is not "
                 "opened)\n");
    ag_buf_cleanup(&d);
    ASSERT_EQ(comp(cfg, AG_KIND_EXTENSION, "zpages")->type, AG_COMP_GO_DEBUG);
    ag_config_free(cfg);
}

static void test_compression_algorithms(void)
{
    ASSERT_FAILS("receivers:\n"                                  /* 1 */
                 "  otlp:\n"                                     /* 2 */
                 "    protocols:\n"                              /* 3 */
                 "      http:\n"                                 /* 4 */
                 "        compression_algorithms: [gzip, br]\n"  /* 5 */
                 "exporters:\n"                                  /* 6 */
                 "  nop:\n"                                      /* 7 */
                 TAIL,
                 "t:5:40: error: receivers::otlp::protocols::http::compression_algorithms: "
                 "unknown compression 'br' (expected gzip, zlib, deflate, zstd, snappy, "
                 "x-snappy-framed or lz4)\n");
}

static void test_ignored_keys_warn(void)
{
    const char *y = "receivers:\n"                                  /* 1 */
                    "  otlp:\n"                                     /* 2 */
                    "    protocols:\n"                              /* 3 */
                    "      grpc:\n"                                 /* 4 */
                    "        read_buffer_size: 524288\n"            /* 5 */
                    "        include_metadata: true\n"              /* 6 */
                    "      http:\n"                                 /* 7 */
                    "        compression_algorithms: [gzip, zstd]\n" /* 8 */
                    "        response_headers: {X-A: b}\n"          /* 9 */
                    "exporters:\n"                                  /* 10 */
                    "  nop:\n"                                      /* 11 */
                    "  debug:\n"                                    /* 12 */
                    "    sampling_initial: 5\n"                     /* 13 */
                    "  file:\n"                                     /* 14 */
                    "    path: x.jsonl\n"                           /* 15 */
                    "    group_by: {enabled: true}\n"               /* 16 */
                    "extensions:\n"                                 /* 17 */
                    "  health_check:\n"                             /* 18 */
                    "    check_collector_pipeline: {enabled: true}\n" /* 19 */
                    "service:\n"                                    /* 20 */
                    "  extensions: [health_check]\n"                /* 21 */
                    "  telemetry:\n"                                /* 22 */
                    "    metrics:\n"                                /* 23 */
                    "      level: detailed\n"                       /* 24 */
                    "  pipelines:\n"                                /* 25 */
                    "    traces:\n"                                 /* 26 */
                    "      receivers: [otlp]\n"                     /* 27 */
                    "      exporters: [nop, debug, file]\n";        /* 28 */
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d),
                 "t:5:9: warning: receivers::otlp::protocols::grpc::read_buffer_size is not "
                 "implemented by otterd and is ignored\n"
                 "t:6:9: warning: receivers::otlp::protocols::grpc::include_metadata is not "
                 "implemented by otterd and is ignored\n"
                 "t:9:9: warning: receivers::otlp::protocols::http::response_headers is not "
                 "implemented by otterd and is ignored\n"
                 "t:13:5: warning: exporters::debug::sampling_initial is not implemented by "
                 "otterd and is ignored\n"
                 "t:16:5: warning: exporters::file::group_by is not implemented by otterd and is "
                 "ignored\n"
                 "t:19:5: warning: extensions::health_check::check_collector_pipeline is not "
                 "implemented by otterd and is ignored\n"
                 "t:24:7: warning: service::telemetry::metrics::level is not implemented by "
                 "otterd and is ignored\n");
    const struct ag_otlp_receiver_config *oc = &comp(cfg, AG_KIND_RECEIVER, "otlp")->u.otlp;
    ASSERT_EQ(oc->n_http_compression_algorithms, 2);
    ASSERT_STREQ(oc->http_compression_algorithms[1], "zstd");
    ag_buf_cleanup(&d);
    ag_config_free(cfg);

    /* An ignored key still has its type checked. */
    ASSERT_FAILS(HEAD
                 "processors:\n"                                /* 7 */
                 "  batch:\n"                                   /* 8 */
                 "    metadata_cardinality_limit: many\n"       /* 9 */
                 TAIL,
                 "t:9:33: error: processors::batch::metadata_cardinality_limit: expected an "
                 "integer, got 'many'\n");
}

static void test_unknown_key(void)
{
    ASSERT_FAILS(HEAD
                 "processors:\n"        /* 7 */
                 "  batch:\n"           /* 8 */
                 "    foo: 1\n"         /* 9 */
                 TAIL,
                 "t:9:5: error: unknown key 'foo' in processors::batch\n");
    ASSERT_FAILS("receivers:\n"         /* 1 */
                 "  otlp:\n"            /* 2 */
                 "    protocols:\n"     /* 3 */
                 "      grpc:\n"        /* 4 */
                 "        tls:\n"       /* 5 */
                 "          certfile: a\n" /* 6 */
                 "      thrift:\n"      /* 7 */
                 "exporters:\n"         /* 8 */
                 "  nop:\n"             /* 9 */
                 TAIL,
                 "t:6:11: error: unknown key 'certfile' in receivers::otlp::protocols::grpc::tls\n"
                 "t:7:7: error: unknown key 'thrift' in receivers::otlp::protocols\n");
    ASSERT_FAILS(HEAD "recievers:\n" TAIL, /* 7 */
                 "t:7:1: error: unknown key 'recievers' at the top level\n");
    ASSERT_FAILS(HEAD
                 "service:\n"                   /* 7 */
                 "  pipelines:\n"               /* 8 */
                 "    traces:\n"                /* 9 */
                 "      receivers: [otlp]\n"    /* 10 */
                 "      exporters: [nop]\n"     /* 11 */
                 "  telemetry:\n"               /* 12 */
                 "    logs:\n"                  /* 13 */
                 "      lvl: debug\n",          /* 14 */
                 "t:14:7: error: unknown key 'lvl' in service::telemetry::logs\n");
}

static void test_wrong_types(void)
{
    ASSERT_FAILS(HEAD
                 "processors:\n"            /* 7 */
                 "  batch:\n"               /* 8 */
                 "    timeout: fast\n"      /* 9 */
                 TAIL,
                 "t:9:14: error: processors::batch::timeout: expected a duration like 200ms, got "
                 "'fast'\n");
    /* A bare number is not a duration (only 0 is). */
    ASSERT_FAILS(HEAD
                 "processors:\n"            /* 7 */
                 "  batch:\n"               /* 8 */
                 "    timeout: 5\n"         /* 9 */
                 TAIL,
                 "t:9:14: error: processors::batch::timeout: expected a duration like 200ms, got "
                 "'5'\n");
    ASSERT_FAILS(HEAD
                 "processors:\n"                /* 7 */
                 "  resource_detection:\n"      /* 8 */
                 "    override: yes\n"          /* 9 */
                 TAIL,
                 "t:9:15: error: processors::resource_detection::override: expected true or "
                 "false, got 'yes'\n");
    ASSERT_FAILS(HEAD
                 "processors:\n"                        /* 7 */
                 "  batch:\n"                           /* 8 */
                 "    send_batch_size: 5000000000\n"    /* 9 */
                 TAIL,
                 "t:9:22: error: processors::batch::send_batch_size: expected an integer from 0 "
                 "to 4294967295, got '5000000000'\n");
    ASSERT_FAILS(HEAD
                 "processors:\n"                    /* 7 */
                 "  batch:\n"                       /* 8 */
                 "    send_batch_size: -1\n"        /* 9 */
                 TAIL,
                 "t:9:22: error: processors::batch::send_batch_size: expected an integer, got "
                 "'-1'\n");
    ASSERT_FAILS(HEAD
                 "processors:\n"                    /* 7 */
                 "  resource_detection:\n"          /* 8 */
                 "    detectors: env\n"             /* 9 */
                 TAIL,
                 "t:9:16: error: processors::resource_detection::detectors: expected a list of "
                 "strings, got 'env'\n");
    ASSERT_FAILS(HEAD
                 "  file:\n"                /* 7 */
                 "    path: [a]\n"          /* 8 */
                 "    rotation: 5\n"        /* 9 */
                 TAIL,
                 "t:8:11: error: exporters::file::path: expected a string, got a sequence\n"
                 "t:9:15: error: exporters::file::rotation: expected a mapping, got a scalar "
                 "'5'\n");
    ASSERT_FAILS(HEAD
                 "processors:\n"            /* 7 */
                 "  batch: 5\n"             /* 8 */
                 TAIL,
                 "t:8:10: error: processors::batch: expected a mapping, got a scalar '5'\n");
    ASSERT_FAILS("receivers:\n"                                 /* 1 */
                 "  otlp:\n"                                    /* 2 */
                 "    protocols:\n"                             /* 3 */
                 "      grpc:\n"                                /* 4 */
                 "        max_recv_msg_size_mib: 1.5\n"         /* 5 */
                 "exporters:\n"                                 /* 6 */
                 "  nop:\n"                                     /* 7 */
                 TAIL,
                 "t:5:32: error: receivers::otlp::protocols::grpc::max_recv_msg_size_mib: "
                 "expected a whole number of MiB, got '1.5'\n");
}

static void test_batch_max_size(void)
{
    ASSERT_FAILS(HEAD
                 "processors:\n"                    /* 7 */
                 "  batch:\n"                       /* 8 */
                 "    send_batch_size: 100\n"       /* 9 */
                 "    send_batch_max_size: 10\n"    /* 10 */
                 TAIL,
                 "t:10:26: error: processors::batch: send_batch_max_size (10) must be 0 or at "
                 "least send_batch_size (100)\n");
}

static void test_memory_limiter(void)
{
    ASSERT_FAILS(HEAD
                 "processors:\n"            /* 7 */
                 "  memory_limiter:\n"      /* 8 */
                 TAIL,
                 "t:8:3: error: processors::memory_limiter: check_interval must be greater than "
                 "zero\n"
                 "t:8:3: error: processors::memory_limiter: limit_mib or limit_percentage must be "
                 "set\n");
    ASSERT_FAILS(HEAD
                 "processors:\n"                /* 7 */
                 "  memory_limiter:\n"          /* 8 */
                 "    check_interval: 0s\n"     /* 9 */
                 "    limit_mib: 100\n"         /* 10 */
                 "    spike_limit_mib: 100\n"   /* 11 */
                 TAIL,
                 "t:9:21: error: processors::memory_limiter: check_interval must be greater than "
                 "zero\n"
                 "t:11:22: error: processors::memory_limiter: spike_limit_mib (100) must be less "
                 "than limit_mib (100)\n");
    ASSERT_FAILS(HEAD
                 "processors:\n"                        /* 7 */
                 "  memory_limiter:\n"                  /* 8 */
                 "    check_interval: 1s\n"             /* 9 */
                 "    limit_percentage: 150\n"          /* 10 */
                 TAIL,
                 "t:10:23: error: processors::memory_limiter::limit_percentage: expected an "
                 "integer from 0 to 100, got '150'\n");
    ASSERT_FAILS(HEAD
                 "processors:\n"                        /* 7 */
                 "  memory_limiter:\n"                  /* 8 */
                 "    check_interval: 1s\n"             /* 9 */
                 "    limit_percentage: 40\n"           /* 10 */
                 "    spike_limit_percentage: 40\n"     /* 11 */
                 TAIL,
                 "t:11:29: error: processors::memory_limiter: spike_limit_percentage (40) must be "
                 "less than limit_percentage (40)\n");

    const char *y = HEAD
                    "processors:\n"                                     /* 7 */
                    "  memory_limiter:\n"                               /* 8 */
                    "    check_interval: 1s\n"                          /* 9 */
                    "    limit_percentage: 75\n"                        /* 10 */
                    "    min_gc_interval_when_soft_limited: 10s\n"      /* 11 */
                    "  memory_limiter/both:\n"                          /* 12 */
                    "    check_interval: 5s\n"                          /* 13 */
                    "    limit_mib: 400\n"                              /* 14 */
                    "    spike_limit_mib: 100\n"                        /* 15 */
                    "    limit_percentage: 80\n"                        /* 16 */
                    "service:\n"                                        /* 17 */
                    "  pipelines:\n"                                    /* 18 */
                    "    traces:\n"                                     /* 19 */
                    "      receivers: [otlp]\n"                         /* 20 */
                    "      processors: [memory_limiter]\n"              /* 21 */
                    "      exporters: [nop]\n"                          /* 22 */
                    "    logs:\n"                                       /* 23 */
                    "      receivers: [otlp]\n"                         /* 24 */
                    "      processors: [memory_limiter/both]\n"         /* 25 */
                    "      exporters: [nop]\n";                         /* 26 */
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d),
                 "t:11:5: warning: processors::memory_limiter::min_gc_interval_when_soft_limited "
                 "is not implemented by otterd and is ignored\n"
                 "t:16:23: warning: processors::memory_limiter/both: both limit_mib and "
                 "limit_percentage are set; limit_mib is used\n");
    ag_buf_cleanup(&d);
    const struct ag_memory_limiter_config *m =
        &comp(cfg, AG_KIND_PROCESSOR, "memory_limiter")->u.memory_limiter;
    ASSERT_EQ(m->limit_percentage, 75);
    ASSERT_EQ(m->spike_limit_percentage, 15);
    ASSERT_UEQ(m->limit_mib, 0);
    m = &comp(cfg, AG_KIND_PROCESSOR, "memory_limiter/both")->u.memory_limiter;
    ASSERT_UEQ(m->check_interval, 5 * SEC);
    ASSERT_UEQ(m->limit_mib, 400);
    ASSERT_UEQ(m->spike_limit_mib, 100);
    ag_config_free(cfg);
}

static void test_resource_detection(void)
{
    ASSERT_FAILS(HEAD
                 "processors:\n"                                /* 7 */
                 "  resourcedetection/eks:\n"                   /* 8 */
                 "    detectors: [env, docker, eks, bogus]\n"   /* 9 */
                 TAIL,
                 "t:9:22: error: processors::resourcedetection/eks::detectors: detector 'docker' "
                 "is not supported by this otterd yet (supported: env, eks, system, ec2)\n"
                 "t:9:35: error: processors::resourcedetection/eks::detectors: unknown detector "
                 "'bogus' (supported: env, eks, system, ec2)\n");
    ASSERT_FAILS(HEAD
                 "processors:\n"                                /* 7 */
                 "  resourcedetection:\n"                       /* 8 */
                 "    detectors: [system, ec2]\n"               /* 9 */
                 "    system:\n"                                /* 10 */
                 "      hostname_sources: [os, nis]\n"          /* 11 */
                 "      resource_attributes:\n"                 /* 12 */
                 "        host.bogus: {enabled: true}\n"        /* 13 */
                 "    ec2:\n"                                   /* 14 */
                 "      resource_attributes:\n"                 /* 15 */
                 "        host.name: {enabled: yes}\n"          /* 16 */
                 "        os.type: {enabled: true}\n"           /* 17 */
                 TAIL,
                 "t:11:30: error: processors::resourcedetection::system::hostname_sources: unknown "
                 "hostname source 'nis' (expected dns, os, cname or lookup)\n"
                 "t:13:9: error: processors::resourcedetection::system::resource_attributes: "
                 "unknown resource attribute 'host.bogus'\n"
                 "t:16:20: error: processors::resourcedetection::ec2::resource_attributes::"
                 "host.name: expected {enabled: true or false}\n"
                 "t:17:9: error: processors::resourcedetection::ec2::resource_attributes: unknown "
                 "resource attribute 'os.type'\n");
    /* A key echoed as written still makes one line: its control characters become '?'. */
    ASSERT_FAILS(HEAD
                 "processors:\n"                                /* 7 */
                 "  resourcedetection:\n"                       /* 8 */
                 "    detectors: [system]\n"                    /* 9 */
                 "    system:\n"                                /* 10 */
                 "      resource_attributes:\n"                 /* 11 */
                 "        \"host\\nname\\t\": {enabled: true}\n" /* 12 */
                 TAIL,
                 "t:12:9: error: processors::resourcedetection::system::resource_attributes: "
                 "unknown resource attribute 'host?name?'\n");

    const char *y = HEAD
                    "processors:\n"                         /* 7 */
                    "  resource_detection:\n"               /* 8 */
                    "    detectors: [env, eks, system, ec2]\n" /* 9 */
                    "    override: false\n"                 /* 10 */
                    "    timeout: 2s\n"                     /* 11 */
                    "    eks:\n"                            /* 12 */
                    "      node_from_env_var: MY_NODE\n"    /* 13 */
                    "    ec2:\n"                            /* 14 */
                    "      tags: [\"^team$\"]\n"            /* 15 */
                    "      resource_attributes:\n"          /* 16 */
                    "        host.name: {enabled: false}\n" /* 17 */
                    "    system:\n"                         /* 18 */
                    "      hostname_sources: [lookup, os]\n" /* 19 */
                    "      resource_attributes:\n"          /* 20 */
                    "        host.id: {enabled: true}\n"    /* 21 */
                    "        os.type: {enabled: false}\n"   /* 22 */
                    "        host.ip: {enabled: true}\n"    /* 23 */
                    "        host.mac: {enabled: false}\n"  /* 24 */
                    "service:\n"                            /* 25 */
                    "  pipelines:\n"                        /* 26 */
                    "    metrics:\n"                        /* 27 */
                    "      receivers: [otlp]\n"             /* 28 */
                    "      processors: [resource_detection]\n" /* 29 */
                    "      exporters: [nop]\n";             /* 30 */
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d),
                 "t:15:7: warning: processors::resource_detection::ec2::tags is not implemented "
                 "by otterd and is ignored\n"
                 "t:23:9: warning: processors::resource_detection::system::resource_attributes::"
                 "host.ip is not detected by this otterd; ignored\n");
    ag_buf_cleanup(&d);
    const struct ag_resource_detection_config *r =
        &comp(cfg, AG_KIND_PROCESSOR, "resource_detection")->u.resource_detection;
    ASSERT_EQ(r->n_detectors, 4);
    ASSERT_STREQ(r->detectors[0], "env");
    ASSERT_STREQ(r->detectors[3], "ec2");
    ASSERT_EQ(r->override, 0);
    ASSERT_UEQ(r->timeout, 2 * SEC);
    ASSERT_STREQ(r->eks_node_from_env_var, "MY_NODE");
    ASSERT_EQ(r->n_hostname_sources, 2);
    ASSERT_STREQ(r->hostname_sources[0], "lookup");
    ASSERT_UEQ(r->system_attrs.on, 1u << AG_RD_HOST_ID);
    ASSERT_UEQ(r->system_attrs.off, 1u << AG_RD_OS_TYPE);
    ASSERT_UEQ(r->ec2_attrs.on, 0);
    ASSERT_UEQ(r->ec2_attrs.off, 1u << AG_RD_HOST_NAME);
    ag_config_free(cfg);
}

/* The resource processor's actions: typed values, and every error where it is written. */
static void test_resource_processor(void)
{
    const char *y = HEAD
                    "processors:\n"                                              /* 7 */
                    "  resource:\n"                                              /* 8 */
                    "    attributes:\n"                                          /* 9 */
                    "      - {key: a, value: 3, action: upsert}\n"               /* 10 */
                    "      - {key: b, value: \"3\", action: INSERT}\n"           /* 11 */
                    "      - {key: c, value: 2.5, action: update}\n"             /* 12 */
                    "      - {key: d, value: true, action: upsert}\n"            /* 13 */
                    "      - {key: e, from_attribute: a, action: insert}\n"      /* 14 */
                    "      - {pattern: ^x\\., action: delete}\n"                 /* 15 */
                    "      - {key: u, pattern: '(?P<h>[a-z]+)\\.(x)(?<t>[0-9]*)', action: extract}\n" /* 16 */
                    "      - {key: n, action: convert, converted_type: double}\n" /* 17 */
                    "service:\n"                                                 /* 18 */
                    "  pipelines:\n"                                             /* 19 */
                    "    logs: {receivers: [otlp], processors: [resource], exporters: [nop]}\n";
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    ag_buf_cleanup(&d);
    const struct ag_attr_actions *a =
        &comp(cfg, AG_KIND_PROCESSOR, "resource")->u.resource.attributes;
    ASSERT_EQ(a->n, 8);
    ASSERT_EQ(a->items[0].value_type, AG_ATTR_INT);
    ASSERT_EQ(a->items[0].int_value, 3);
    ASSERT_EQ(a->items[1].value_type, AG_ATTR_STRING);
    ASSERT_EQ(a->items[1].action, AG_ATTR_INSERT);
    ASSERT_EQ(a->items[2].value_type, AG_ATTR_DOUBLE);
    ASSERT(a->items[2].double_value == 2.5);
    ASSERT_EQ(a->items[3].value_type, AG_ATTR_BOOL);
    ASSERT_STREQ(a->items[4].from_attribute, "a");
    ASSERT_NULL(a->items[5].key);
    ASSERT_STREQ(a->items[5].pattern, "^x\\.");
    /* Go's named groups made POSIX: (h) is group 1, (x) 2, (t) 3. */
    ASSERT_STREQ(a->items[6].pattern, "([a-z]+)\\.(x)([0-9]*)");
    ASSERT_EQ(a->items[6].n_groups, 2);
    ASSERT_STREQ(a->items[6].group_names[1], "t");
    ASSERT_UEQ(a->items[6].group_index[0], 1);
    ASSERT_UEQ(a->items[6].group_index[1], 3);
    ASSERT_EQ(a->items[7].converted_type, AG_ATTR_DOUBLE);
    ag_config_free(cfg);

    /* Escaped parentheses and ones inside brackets are not groups. */
    char *ere = NULL, **names = NULL;
    size_t *index = NULL, n = 0;
    ASSERT_OK(ag_config_named_groups("\\((?P<a>x)\\)[(]](?P<b>y)", &ere, &names, &index, &n));
    ASSERT_STREQ(ere, "\\((x)\\)[(]](y)");
    ASSERT_UEQ(n, 2);
    ASSERT_STREQ(names[0], "a");
    ASSERT_UEQ(index[0], 1);
    ASSERT_UEQ(index[1], 2);
    ag_free(names[0]);
    ag_free(names[1]);
    ag_free(names);
    ag_free(index);
    ag_free(ere);
    ASSERT_EQ(ag_config_named_groups("(?i)x", &ere, &names, &index, &n), AG_EINVAL);
    ASSERT_EQ(ag_config_named_groups("(?P<>x)", &ere, &names, &index, &n), AG_EINVAL);

    ASSERT_FAILS(HEAD
                 "processors:\n"                                                 /* 7 */
                 "  resource:\n"                                                 /* 8 */
                 "    attributes:\n"                                             /* 9 */
                 "      - {key: a, action: rename}\n"                            /* 10 */
                 "      - {value: 1, action: insert}\n"                          /* 11 */
                 "      - {key: a, value: 1, from_attribute: b, action: upsert}\n" /* 12 */
                 "      - {key: a, action: extract, pattern: '(?:x)'}\n"         /* 13 */
                 "      - {key: a, action: delete, pattern: '(['}\n"             /* 14 */
                 "      - {key: a, from_context: auth.x, action: insert}\n"      /* 15 */
                 "      - {key: a, action: convert, converted_type: bool}\n"     /* 16 */
                 "      - {key: a, value: [1], action: insert}\n"                /* 17 */
                 TAIL,
                 "t:10:26: error: processors::resource::attributes: action: expected insert, "
                 "update, upsert, delete, hash, extract or convert\n"
                 "t:11:9: error: processors::resource::attributes: key is required\n"
                 "t:12:9: error: processors::resource::attributes: upsert needs exactly one of "
                 "value and from_attribute\n"
                 "t:13:44: error: processors::resource::attributes: pattern: extract needs named "
                 "groups, (?P<name>...), and no other (? construct\n"
                 "t:14:43: error: processors::resource::attributes: invalid regular expression: "
                 "Invalid regular expression\n"
                 "t:15:32: error: processors::resource::attributes: from_context is not supported "
                 "by this otterd (it keeps no client metadata)\n"
                 "t:16:51: error: processors::resource::attributes: converted_type: expected int, "
                 "double or string\n"
                 "t:17:25: error: processors::resource::attributes: value: only a scalar (string, "
                 "number, bool) is supported by this otterd\n");
}

static void test_attributes_processor(void)
{
    ASSERT_FAILS(HEAD
                 "processors:\n"                                                 /* 7 */
                 "  attributes:\n"                                               /* 8 */
                 "    actions:\n"                                                /* 9 */
                 "      - {key: a, value: 1, action: upsert}\n"                  /* 10 */
                 "    include: {match_type: strict, services: [x]}\n"            /* 11 */
                 TAIL,
                 "t:11:5: error: processors::attributes::include: include/exclude matching is "
                 "not supported by this otterd yet (without it the actions would apply to every "
                 "item)\n");
    const char *y = HEAD
                    "processors:\n"                                              /* 7 */
                    "  attributes/env:\n"                                        /* 8 */
                    "    actions: [{key: env, value: prod, action: insert}]\n"   /* 9 */
                    "service:\n"                                                 /* 10 */
                    "  pipelines:\n"                                             /* 11 */
                    "    traces: {receivers: [otlp], processors: [attributes/env], exporters: "
                    "[nop]}\n"; /* 12 */
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    ag_buf_cleanup(&d);
    const struct ag_component_config *c = comp(cfg, AG_KIND_PROCESSOR, "attributes/env");
    ASSERT_EQ(c->type, AG_COMP_ATTRIBUTES);
    ASSERT_EQ(c->u.attributes.actions.n, 1);
    ASSERT_STREQ(c->u.attributes.actions.items[0].value, "prod");
    ag_config_free(cfg);
}

static void test_debug_exporter(void)
{
    ASSERT_FAILS(HEAD
                 "  debug:\n"               /* 7 */
                 "    verbosity: loud\n"    /* 8 */
                 TAIL,
                 "t:8:16: error: exporters::debug::verbosity: expected basic, normal or detailed, "
                 "got 'loud'\n");
    ASSERT_FAILS(HEAD
                 "  debug:\n"               /* 7 */
                 "    loglevel: debug\n"    /* 8 */
                 TAIL,
                 "t:8:5: error: exporters::debug::loglevel: 'loglevel' was removed from the "
                 "collector; use 'verbosity: basic|normal|detailed'\n");
}

static void test_file_exporter(void)
{
    ASSERT_FAILS(HEAD
                 "  file:\n"                /* 7 */
                 "    path: a.jsonl\n"      /* 8 */
                 "    format: proto\n"      /* 9 */
                 TAIL,
                 "t:9:13: error: exporters::file::format: format 'proto' is not supported by this "
                 "otterd yet (json only)\n");
    ASSERT_FAILS(HEAD "  file:\n" TAIL, /* 7 */
                 "t:7:3: error: exporters::file: path is required\n");
    ASSERT_FAILS(HEAD
                 "  file/r:\n"              /* 7 */
                 "    path: out.jsonl\n"    /* 8 */
                 "    rotation:\n"          /* 9 */
                 "    append: true\n"       /* 10 */
                 TAIL,
                 "t:10:13: error: exporters::file/r: append and rotation cannot be used "
                 "together\n");

    const char *y = HEAD
                    "  file:\n"                     /* 7 */
                    "    path: \"a b.jsonl\"\n"     /* 8 */
                    "    format: json\n"            /* 9 */
                    "    flush_interval: 250ms\n"   /* 10 */
                    "    rotation:\n"               /* 11 */
                    "      max_days: 3\n"           /* 12 */
                    "      localtime: true\n"       /* 13 */
                    "service:\n"                    /* 14 */
                    "  pipelines:\n"                /* 15 */
                    "    logs:\n"                   /* 16 */
                    "      receivers: [otlp]\n"     /* 17 */
                    "      exporters: [file, nop]\n"; /* 18 */
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    ag_buf_cleanup(&d);
    const struct ag_file_config *f = &comp(cfg, AG_KIND_EXPORTER, "file")->u.file;
    ASSERT_STREQ(f->path, "a b.jsonl");
    ASSERT_UEQ(f->flush_interval, 250000000ull);
    ASSERT_UEQ(f->rotation_max_megabytes, 100);
    ASSERT_EQ(f->rotation_max_backups, 100);
    ASSERT_EQ(f->rotation_max_days, 3);
    ASSERT_EQ(f->rotation_localtime, 1);
    ASSERT_EQ(f->append, 0);
    ag_config_free(cfg);
}

static void test_component_types(void)
{
    /* The top-level scan (connectors) runs before the sections are read. */
    ASSERT_FAILS(HEAD
                 "  otlp:\n"                /* 7 */
                 "    endpoint: x\n"        /* 8 */
                 "  bogus:\n"               /* 9 */
                 "  logging:\n"             /* 10 */
                 "  otlphttp/aws:\n"        /* 11 */
                 "connectors:\n"            /* 12 */
                 "  forward:\n"             /* 13 */
                 TAIL,
                 "t:12:1: error: connectors are not supported by this otterd yet\n"
                 "t:7:3: error: component type 'otlp' is not supported by this otterd yet\n"
                 "t:9:3: error: unknown exporter type 'bogus'\n"
                 "t:10:3: error: exporter type 'logging' was removed from the collector; use "
                 "'debug'\n"
                 "t:11:3: error: component type 'otlphttp' is not supported by this otterd "
                 "yet\n");
}

static void test_component_types_processors(void)
{
    /* Messages follow the sections: receivers, processors, exporters, extensions. */
    ASSERT_FAILS(HEAD
                 "processors:\n"            /* 7 */
                 "  filter/x:\n"            /* 8 */
                 "  batch/:\n"              /* 9 */
                 "  9lives:\n"              /* 10 */
                 "extensions:\n"            /* 11 */
                 "  sigv4auth:\n"           /* 12 */
                 "  zpages/a b:\n"          /* 13 */
                 TAIL,
                 "t:8:3: error: component type 'filter' is not supported by this otterd yet\n"
                 "t:9:3: error: invalid processor id 'batch/': the name after '/' must be "
                 "non-empty without spaces or '/'\n"
                 "t:10:3: error: invalid processor id '9lives': the type must start with a letter "
                 "and contain only letters, digits and '_'\n"
                 "t:12:3: error: component type 'sigv4auth' is not supported by this otterd yet\n"
                 "t:13:3: error: invalid extension id 'zpages/a b': the name after '/' must be "
                 "non-empty without spaces or '/'\n");
}

static void test_pipelines(void)
{
#define PHEAD HEAD "processors:\n" /* 7 */ "  batch:\n" /* 8 */ "service:\n" /* 9 */ \
              "  pipelines:\n" /* 10 */
    ASSERT_FAILS(PHEAD
                 "    traces/x:\n"                  /* 11 */
                 "      receivers: [otlp]\n"        /* 12 */
                 "      processors: [batch/y]\n"    /* 13 */
                 "      exporters: [nop]\n",        /* 14 */
                 "t:13:20: error: pipeline traces/x references undefined processor batch/y\n");
    ASSERT_FAILS(PHEAD
                 "    metrics:\n"                   /* 11 */
                 "      processors: [batch]\n",     /* 12 */
                 "t:11:5: error: pipeline metrics must have at least one receiver\n"
                 "t:11:5: error: pipeline metrics must have at least one exporter\n");
    ASSERT_FAILS(PHEAD
                 "    profiles:\n"                  /* 11 */
                 "      receivers: [otlp]\n"        /* 12 */
                 "      exporters: [nop]\n",        /* 13 */
                 "t:11:5: error: invalid pipeline id 'profiles': the signal must be traces, "
                 "metrics or logs\n");
    ASSERT_FAILS(PHEAD
                 "    traces:\n"                    /* 11 */
                 "      receivers: [otlp]\n"        /* 12 */
                 "      processors: [batch]\n"      /* 13 */
                 "      exporters: [nop, nop]\n",   /* 14 */
                 "t:14:24: error: pipeline traces references exporter nop more than once\n");
    ASSERT_FAILS(PHEAD
                 "    traces:\n"                    /* 11 */
                 "      receiver: [otlp]\n"         /* 12 */
                 "      exporters: [otlp]\n",       /* 13 */
                 "t:12:7: error: unknown key 'receiver' in service::pipelines::traces\n"
                 "t:13:19: error: pipeline traces references undefined exporter otlp\n"
                 "t:11:5: error: pipeline traces must have at least one receiver\n");
    ASSERT_FAILS(PHEAD
                 "    logs:\n"                      /* 11 */
                 "      receivers: otlp\n"          /* 12 */
                 "      exporters: [nop]\n",        /* 13 */
                 "t:12:18: error: pipeline logs: expected a list of receiver ids, got 'otlp'\n");
    ASSERT_FAILS(HEAD "service:\n" /* 7 */ "  pipelines:\n", /* 8 */
                 "t:8:3: error: service::pipelines must define at least one pipeline\n");
    ASSERT_FAILS("", "t:1:1: error: service::pipelines must define at least one pipeline\n");
    ASSERT_FAILS("- a\n", "t:1:1: error: the config must be a mapping (receivers, processors, "
                          "exporters, extensions, service), got a sequence\n");
#undef PHEAD
}

static void test_warnings_unused_and_order(void)
{
    const char *y = "receivers:\n"                                  /* 1 */
                    "  otlp:\n"                                     /* 2 */
                    "    protocols:\n"                              /* 3 */
                    "      grpc:\n"                                 /* 4 */
                    "  otlp/unused:\n"                              /* 5 */
                    "    protocols:\n"                              /* 6 */
                    "      http:\n"                                 /* 7 */
                    "exporters:\n"                                  /* 8 */
                    "  nop:\n"                                      /* 9 */
                    "processors:\n"                                 /* 10 */
                    "  batch:\n"                                    /* 11 */
                    "  memory_limiter:\n"                           /* 12 */
                    "    check_interval: 1s\n"                      /* 13 */
                    "    limit_percentage: 50\n"                    /* 14 */
                    "extensions:\n"                                 /* 15 */
                    "  health_check:\n"                             /* 16 */
                    "service:\n"                                    /* 17 */
                    "  pipelines:\n"                                /* 18 */
                    "    traces:\n"                                 /* 19 */
                    "      receivers: [otlp]\n"                     /* 20 */
                    "      processors: [batch, memory_limiter]\n"   /* 21 */
                    "      exporters: [nop]\n";                     /* 22 */
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d),
                 "t:21:27: warning: pipeline traces: memory_limiter should be the first "
                 "processor\n"
                 "t:5:3: warning: receiver otlp/unused is defined but not used in any pipeline\n"
                 "t:16:3: warning: extension health_check is defined but not enabled in "
                 "service::extensions\n");
    ag_buf_cleanup(&d);
    const struct ag_component_config *ml = comp(cfg, AG_KIND_PROCESSOR, "memory_limiter");
    ASSERT_EQ(ml->u.memory_limiter.spike_limit_percentage, 10);
    ASSERT_EQ(cfg->pipelines[0].n_processors, 2);
    ag_config_free(cfg);
}

static void test_extensions(void)
{
    ASSERT_FAILS(HEAD
                 "service:\n"                       /* 7 */
                 "  extensions: [zpages]\n"         /* 8 */
                 "  pipelines:\n"                   /* 9 */
                 "    traces:\n"                    /* 10 */
                 "      receivers: [otlp]\n"        /* 11 */
                 "      exporters: [nop]\n",        /* 12 */
                 "t:8:16: error: service::extensions references undefined extension zpages\n");
    ASSERT_FAILS(HEAD
                 "extensions:\n"                            /* 7 */
                 "  health_check:\n"                        /* 8 */
                 "    endpoint: localhost\n"                /* 9 */
                 "    path: \"health z\"\n"                 /* 10 */
                 TAIL,
                 "t:9:15: error: extensions::health_check::endpoint: invalid endpoint "
                 "'localhost': expected host:port (the port is missing)\n"
                 "t:10:11: error: extensions::health_check::path: 'health z' is not a valid URL "
                 "path\n");
}

static void test_telemetry(void)
{
    const char *y = HEAD
                    "service:\n"                        /* 7 */
                    "  telemetry:\n"                    /* 8 */
                    "    logs:\n"                       /* 9 */
                    "      level: DEBUG\n"              /* 10 */
                    "      encoding: json\n"            /* 11 */
                    "    metrics:\n"                    /* 12 */
                    "      address: 127.0.0.1:0\n"      /* 13 */
                    "  shutdown_timeout: 3s\n"          /* 14 */
                    "  pipelines:\n"                    /* 15 */
                    "    traces:\n"                     /* 16 */
                    "      receivers: [otlp]\n"         /* 17 */
                    "      exporters: [nop]\n";         /* 18 */
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    ag_buf_cleanup(&d);
    ASSERT_EQ(cfg->log_level, AG_LOG_DEBUG);
    ASSERT_EQ(cfg->log_json, 1);
    ASSERT_STREQ(cfg->metrics_address, "127.0.0.1:0");
    ASSERT_UEQ(cfg->shutdown_timeout, 3 * SEC);
    ag_config_free(cfg);

    /* "" turns the admin listener off. */
    ASSERT_OK(load(HEAD "service:\n  telemetry: {metrics: {address: \"\"}}\n"
                   "  pipelines: {logs: {receivers: [otlp], exporters: [nop]}}\n",
                   &cfg, &d));
    ASSERT_STREQ(cfg->metrics_address, "");
    ag_buf_cleanup(&d);
    ag_config_free(cfg);

    ASSERT_FAILS(HEAD
                 "service:\n"                       /* 7 */
                 "  telemetry:\n"                   /* 8 */
                 "    logs:\n"                      /* 9 */
                 "      level: loud\n"              /* 10 */
                 "      encoding: xml\n"            /* 11 */
                 "    metrics:\n"                   /* 12 */
                 "      address: 8888\n"            /* 13 */
                 "  shutdown_timeout: soon\n"       /* 14 */
                 "  pipelines:\n"                   /* 15 */
                 "    traces:\n"                    /* 16 */
                 "      receivers: [otlp]\n"        /* 17 */
                 "      exporters: [nop]\n",        /* 18 */
                 "t:10:14: error: service::telemetry::logs::level: expected debug, info, warn or "
                 "error, got 'loud'\n"
                 "t:11:17: error: service::telemetry::logs::encoding: expected console or json, "
                 "got 'xml'\n"
                 "t:13:16: error: service::telemetry::metrics::address: invalid endpoint '8888': "
                 "expected host:port (the port is missing)\n"
                 "t:14:21: error: service::shutdown_timeout: expected a duration like 200ms, got "
                 "'soon'\n");
}

static void test_endpoints_and_tls(void)
{
    ASSERT_FAILS("receivers:\n"                             /* 1 */
                 "  otlp:\n"                                /* 2 */
                 "    protocols:\n"                         /* 3 */
                 "      grpc:\n"                            /* 4 */
                 "        endpoint: 0.0.0.0:99999\n"        /* 5 */
                 "        transport: unix\n"                /* 6 */
                 "      http:\n"                            /* 7 */
                 "        endpoint: \"::1:4318\"\n"         /* 8 */
                 "exporters:\n"                             /* 9 */
                 "  nop:\n"                                 /* 10 */
                 TAIL,
                 "t:5:19: error: receivers::otlp::protocols::grpc::endpoint: invalid endpoint "
                 "'0.0.0.0:99999': expected host:port with a port from 0 to 65535\n"
                 "t:6:20: error: receivers::otlp::protocols::grpc::transport: transport 'unix' is "
                 "not supported by otterd (tcp only)\n"
                 "t:8:19: error: receivers::otlp::protocols::http::endpoint: invalid endpoint "
                 "'::1:4318': write an IPv6 address in brackets: [addr]:port\n");
    ASSERT_FAILS("receivers:\n"                             /* 1 */
                 "  otlp:\n"                                /* 2 */
                 "    protocols:\n"                         /* 3 */
                 "      grpc:\n"                            /* 4 */
                 "        tls:\n"                           /* 5 */
                 "          cert_file: server.crt\n"        /* 6 */
                 "      http:\n"                            /* 7 */
                 "        tls:\n"                           /* 8 */
                 "exporters:\n"                             /* 9 */
                 "  nop:\n"                                 /* 10 */
                 TAIL,
                 "t:5:9: error: receivers::otlp::protocols::grpc::tls: cert_file and key_file are "
                 "both required\n"
                 "t:8:9: error: receivers::otlp::protocols::http::tls: cert_file and key_file are "
                 "both required\n");
    ASSERT_FAILS("receivers:\n"                             /* 1 */
                 "  otlp:\n"                                /* 2 */
                 "    protocols:\n"                         /* 3 */
                 "      grpc:\n"                            /* 4 */
                 "        tls:\n"                           /* 5 */
                 "          min_version: \"1.0\"\n"         /* 6 */
                 "          cert_pem: x\n"                  /* 7 */
                 "exporters:\n"                             /* 8 */
                 "  nop:\n"                                 /* 9 */
                 TAIL,
                 "t:6:24: error: receivers::otlp::protocols::grpc::tls::min_version: TLS 1.0 is "
                 "not supported by otterd (use 1.2 or 1.3)\n"
                 "t:7:11: error: receivers::otlp::protocols::grpc::tls::cert_pem: inline PEM is "
                 "not supported by this otterd yet; use cert_file\n");
    ASSERT_FAILS("receivers:\n"                             /* 1 */
                 "  otlp:\n"                                /* 2 */
                 "    protocols:\n"                         /* 3 */
                 "exporters:\n"                             /* 4 */
                 "  nop:\n"                                 /* 5 */
                 TAIL,
                 "t:2:3: error: receivers::otlp: must specify at least one protocol (protocols: "
                 "grpc: and/or http:)\n");
}

static void test_env_in_config(void)
{
    ASSERT_OK(setenv("OTTER_T_EP", "0.0.0.0:5317", 1));
    ASSERT_OK(setenv("OTTER_T_BAD", "not-a-duration-secret", 1));
    ASSERT_OK(unsetenv("OTTER_T_UNSET"));
    const char *y = "receivers:\n"                              /* 1 */
                    "  otlp:\n"                                 /* 2 */
                    "    protocols:\n"                          /* 3 */
                    "      grpc:\n"                             /* 4 */
                    "        endpoint: ${env:OTTER_T_EP}\n"     /* 5 */
                    "      http:\n"                             /* 6 */
                    "        endpoint: ${OTTER_T_UNSET:-localhost:4999}\n" /* 7 */
                    "exporters:\n"                              /* 8 */
                    "  nop:\n"                                  /* 9 */
                    TAIL;
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    ag_buf_cleanup(&d);
    ASSERT_STREQ(cfg->components[0].u.otlp.grpc_endpoint, "0.0.0.0:5317");
    ASSERT_STREQ(cfg->components[0].u.otlp.http_endpoint, "localhost:4999");
    ag_config_free(cfg);

    /* The message shows what was written, never the expanded value. */
    ASSERT_FAILS(HEAD
                 "processors:\n"                            /* 7 */
                 "  batch:\n"                               /* 8 */
                 "    timeout: ${env:OTTER_T_BAD}\n"        /* 9 */
                 "    send_batch_size: ${OTTER_T_UNSET}\n"  /* 10 */
                 TAIL,
                 "t:10:22: warning: environment variable 'OTTER_T_UNSET' is not set; using \"\"\n"
                 "t:9:14: error: processors::batch::timeout: expected a duration like 200ms, got "
                 "'${env:OTTER_T_BAD}'\n");
    /* A YAML error stops before any config check. */
    ASSERT_FAILS(HEAD
                 "processors:\n"            /* 7 */
                 "  batch:\n"               /* 8 */
                 "    timeout: 1s\n"        /* 9 */
                 "    timeout: 2s\n"        /* 10 */
                 TAIL,
                 "t:10:5: error: duplicate key 'timeout' (first defined at 9:5)\n");
}

static void test_default_config(void)
{
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ag_buf_init(&d, 4096);
    ASSERT_OK(ag_config_default(NULL, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    ASSERT_STREQ(cfg->source, "<default>");
    ASSERT_EQ(cfg->n_components, 5);
    const struct ag_otlp_receiver_config *o = &comp(cfg, AG_KIND_RECEIVER, "otlp")->u.otlp;
    ASSERT_EQ(o->grpc_enabled, 1);
    ASSERT_EQ(o->http_enabled, 1);
    ASSERT_STREQ(o->grpc_endpoint, "localhost:4317");
    ASSERT_STREQ(o->http_endpoint, "localhost:4318");
    ASSERT_NOT_NULL(comp(cfg, AG_KIND_PROCESSOR, "batch"));
    ASSERT_STREQ(comp(cfg, AG_KIND_EXPORTER, "file/traces")->u.file.path,
                 "./otter-data/traces.jsonl");
    ASSERT_STREQ(comp(cfg, AG_KIND_EXPORTER, "file/metrics")->u.file.path,
                 "./otter-data/metrics.jsonl");
    ASSERT_STREQ(comp(cfg, AG_KIND_EXPORTER, "file/logs")->u.file.path,
                 "./otter-data/logs.jsonl");
    ASSERT_EQ(cfg->n_pipelines, 3);
    ASSERT_EQ(cfg->pipelines[0].signal, AG_SIGNAL_TRACES);
    ASSERT_EQ(cfg->pipelines[1].signal, AG_SIGNAL_METRICS);
    ASSERT_EQ(cfg->pipelines[2].signal, AG_SIGNAL_LOGS);
    for (size_t i = 0; i < 3; i++) {
        const struct ag_pipeline_config *p = &cfg->pipelines[i];
        ASSERT_EQ(p->n_receivers, 1);
        ASSERT_EQ(p->n_processors, 1);
        ASSERT_EQ(p->n_exporters, 1);
        ASSERT_EQ(cfg->components[p->exporters[0]].type, AG_COMP_FILE);
    }
    ASSERT_STREQ(cfg->components[cfg->pipelines[1].exporters[0]].id, "file/metrics");
    ag_config_free(cfg);

    /* A trailing slash is dropped; '$', '"' and '\' reach the path unchanged. */
    ASSERT_OK(ag_config_default("data/$HOME \"x\\y/", &cfg, &d));
    ASSERT_STREQ(comp(cfg, AG_KIND_EXPORTER, "file/logs")->u.file.path,
                 "data/$HOME \"x\\y/logs.jsonl");
    ag_config_free(cfg);
    ASSERT_EQ(ag_config_default("bad\ndir", &cfg, &d), AG_EINVAL);
    ASSERT_NULL(cfg);
    ASSERT_STRCONTAINS(ag_buf_str(&d), "<default>: error: the data directory contains control "
                                       "characters");
    ag_buf_cleanup(&d);
}

static void test_split_endpoint(void)
{
    char host[64];
    int port = -1;
    ASSERT_OK(ag_config_split_endpoint("localhost:4317", host, sizeof(host), &port));
    ASSERT_STREQ(host, "localhost");
    ASSERT_EQ(port, 4317);
    ASSERT_OK(ag_config_split_endpoint(":4318", host, sizeof(host), &port));
    ASSERT_STREQ(host, "");
    ASSERT_EQ(port, 4318);
    ASSERT_OK(ag_config_split_endpoint("0.0.0.0:0", host, sizeof(host), &port));
    ASSERT_STREQ(host, "0.0.0.0");
    ASSERT_EQ(port, 0);
    ASSERT_OK(ag_config_split_endpoint("[::1]:65535", host, sizeof(host), &port));
    ASSERT_STREQ(host, "::1");
    ASSERT_EQ(port, 65535);
    ASSERT_OK(ag_config_split_endpoint("[fe80::1%eth0]:80", host, sizeof(host), &port));
    ASSERT_STREQ(host, "fe80::1%eth0");
    ASSERT_EQ(port, 80);
    ASSERT_OK(ag_config_split_endpoint("[::]:4317", host, sizeof(host), &port));
    ASSERT_STREQ(host, "::");

    static const char *const bad[] = {
        "localhost", "localhost:", "localhost:65536", "localhost:-1", "localhost:+1",
        "localhost: 1", "localhost:123456", "::1:4317", "[::1]", "[::1]4317", "[]:80",
        "[not v6]:80", "a b:80", "host/x:80", "", ":", "h:1x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        port = -1;
        if (ag_config_split_endpoint(bad[i], host, sizeof(host), &port) != AG_EINVAL) {
            AG_TEST_FAIL_("'%s' was accepted", bad[i]);
        }
        ASSERT_EQ(port, 0);
    }
    /* The host must fit, NUL included. */
    char small[5];
    ASSERT_OK(ag_config_split_endpoint("abcd:1", small, sizeof(small), &port));
    ASSERT_STREQ(small, "abcd");
    ASSERT_EQ(ag_config_split_endpoint("abcde:1", small, sizeof(small), &port), AG_EINVAL);
    ASSERT_EQ(ag_config_split_endpoint(NULL, host, sizeof(host), &port), AG_EINVAL);
    ASSERT_EQ(ag_config_split_endpoint("a:1", host, 0, &port), AG_EINVAL);
}

static void test_load_file(void)
{
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ag_buf_init(&d, 4096);
    ASSERT_EQ(ag_config_load_file("does-not-exist.yaml", &cfg, &d), AG_ENOTFOUND);
    ASSERT_NULL(cfg);
    ASSERT_STREQ(ag_buf_str(&d),
                 "does-not-exist.yaml: error: cannot open: No such file or directory\n");
    ag_buf_reset(&d);

    char path[] = "ag_config_test_XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    const char *y = HEAD TAIL;
    ASSERT_EQ(write(fd, y, strlen(y)), (long long)strlen(y));
    close(fd);
    int rc = ag_config_load_file(path, &cfg, &d);
    ASSERT_OK(rc);
    ASSERT_STREQ(cfg->source, path);
    ASSERT_EQ(cfg->n_pipelines, 1);
    ag_config_free(cfg);

    /* Messages name the file. */
    fd = open(path, O_WRONLY | O_TRUNC);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, "x: [\n", 5), 5);
    close(fd);
    ag_buf_reset(&d);
    ASSERT_EQ(ag_config_load_file(path, &cfg, &d), AG_EINVAL);
    char want[128];
    snprintf(want, sizeof(want), "%s:2:1: error: invalid YAML:", path);
    ASSERT_STRCONTAINS(ag_buf_str(&d), want);
    unlink(path);
    ag_buf_cleanup(&d);
    ag_config_free(NULL);
}

/* Lines 1-4 of the awsxray configs below, and the pipeline that uses exporter "awsxray". */
#define XRAY_HEAD                                                                           \
    "receivers:\n"        /* 1 */                                                           \
    "  otlp:\n"           /* 2 */                                                           \
    "    protocols:\n"    /* 3 */                                                           \
    "      grpc:\n"       /* 4 */                                                           \
    "exporters:\n"        /* 5 */                                                           \
    "  awsxray:\n"        /* 6 */
#define XRAY_TAIL                                                                           \
    "service:\n"                                                                            \
    "  pipelines:\n"                                                                        \
    "    traces:\n"                                                                         \
    "      receivers: [otlp]\n"                                                             \
    "      exporters: [awsxray]\n"

static void test_awsxray_exporter(void)
{
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    /* Defaults: ADOT's session defaults and the collector's queue size. */
    ASSERT_OK(load(XRAY_HEAD XRAY_TAIL, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    const struct ag_component_config *c = comp(cfg, AG_KIND_EXPORTER, "awsxray");
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->type, AG_COMP_AWSXRAY_EXPORTER);
    const struct ag_awsxray_config *x = &c->u.awsxray_exporter;
    ASSERT_NULL(x->aws.region);
    ASSERT_NULL(x->aws.endpoint);
    ASSERT_EQ(x->aws.max_retries, 2);
    ASSERT_EQ(x->aws.request_timeout_seconds, 30);
    ASSERT_EQ(x->aws.num_workers, 8);
    ASSERT_EQ(x->aws.no_verify_ssl, 0);
    ASSERT_EQ(x->aws.local_mode, 0);
    ASSERT_EQ(x->n_indexed_attributes, 0);
    ASSERT_EQ(x->index_all_attributes, 0);
    ASSERT_EQ(x->n_aws_log_groups, 0);
    ASSERT_EQ(x->skip_timestamp_validation, 0);
    ASSERT_EQ(x->allow_dot, 1);
    ASSERT_EQ(x->queue_size, 1000);
    ag_buf_cleanup(&d);
    ag_config_free(cfg);

    const char *y = XRAY_HEAD
                    "    region: eu-west-1\n"                               /* 7 */
                    "    endpoint: http://127.0.0.1:4566\n"                 /* 8 */
                    "    role_arn: arn:aws:iam::123456789012:role/x\n"      /* 9 */
                    "    external_id: ext\n"                                /* 10 */
                    "    sts_region: us-east-1\n"                           /* 11 */
                    "    max_retries: 5\n"                                  /* 12 */
                    "    no_verify_ssl: true\n"                             /* 13 */
                    "    proxy_address: http://127.0.0.1:3128\n"            /* 14 */
                    "    local_mode: true\n"                                /* 15 */
                    "    request_timeout_seconds: 7\n"                      /* 16 */
                    "    num_workers: 3\n"                                  /* 17 */
                    "    resource_arn: arn:aws:ec2:eu-west-1:1:instance/i\n" /* 18 */
                    "    certificate_file_path: /ca.pem\n"                  /* 19 */
                    "    indexed_attributes: [a.b, otel.resource.c]\n"      /* 20 */
                    "    index_all_attributes: true\n"                      /* 21 */
                    "    aws_log_groups: [g1, g2]\n"                        /* 22 */
                    "    telemetry: {enabled: true}\n"                      /* 23 */
                    "    sending_queue:\n"                                  /* 24 */
                    "      enabled: true\n"                                 /* 25 */
                    "      queue_size: 10\n"                                /* 26 */
                    "      num_consumers: 2\n"                              /* 27 */
                    "    retry_on_failure: {enabled: true}\n"               /* 28 */
                    "    skip_timestamp_validation: true\n"                 /* 29 */
                    "    allow_dot: false\n"                                /* 30 */
                    XRAY_TAIL;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d),
                 "t:19:28: warning: exporters::awsxray::certificate_file_path is not implemented "
                 "by otterd; the system CA store is used\n"
                 "t:23:5: warning: exporters::awsxray::telemetry is not implemented by otterd and "
                 "is ignored\n"
                 "t:27:7: warning: exporters::awsxray::sending_queue::num_consumers is not "
                 "implemented by otterd and is ignored\n"
                 "t:28:5: warning: exporters::awsxray::retry_on_failure is not implemented by "
                 "otterd and is ignored\n");
    c = comp(cfg, AG_KIND_EXPORTER, "awsxray");
    ASSERT_NOT_NULL(c);
    x = &c->u.awsxray_exporter;
    ASSERT_STREQ(x->aws.region, "eu-west-1");
    ASSERT_STREQ(x->aws.endpoint, "http://127.0.0.1:4566");
    ASSERT_STREQ(x->aws.role_arn, "arn:aws:iam::123456789012:role/x");
    ASSERT_STREQ(x->aws.external_id, "ext");
    ASSERT_STREQ(x->aws.sts_region, "us-east-1");
    ASSERT_EQ(x->aws.max_retries, 5);
    ASSERT_EQ(x->aws.no_verify_ssl, 1);
    ASSERT_STREQ(x->aws.proxy_address, "http://127.0.0.1:3128");
    ASSERT_EQ(x->aws.local_mode, 1);
    ASSERT_EQ(x->aws.request_timeout_seconds, 7);
    ASSERT_EQ(x->aws.num_workers, 3);
    ASSERT_STREQ(x->aws.resource_arn, "arn:aws:ec2:eu-west-1:1:instance/i");
    ASSERT_STREQ(x->aws.certificate_file_path, "/ca.pem");
    ASSERT_EQ(x->n_indexed_attributes, 2);
    ASSERT_STREQ(x->indexed_attributes[0], "a.b");
    ASSERT_STREQ(x->indexed_attributes[1], "otel.resource.c");
    ASSERT_EQ(x->index_all_attributes, 1);
    ASSERT_EQ(x->n_aws_log_groups, 2);
    ASSERT_STREQ(x->aws_log_groups[1], "g2");
    ASSERT_EQ(x->queue_size, 10);
    ASSERT_EQ(x->skip_timestamp_validation, 1);
    ASSERT_EQ(x->allow_dot, 0);
    ag_buf_cleanup(&d);
    ag_config_free(cfg);
}

static void test_awsxray_exporter_errors(void)
{
    ASSERT_FAILS(XRAY_HEAD
                 "    regoin: us-east-1\n"          /* 7 */
                 "    max_retries: many\n"          /* 8 */
                 "    indexed_attributes: a\n"      /* 9 */
                 "    aws_log_groups: [[x]]\n"      /* 10 */
                 "    sending_queue: {queue_sise: 1}\n" /* 11 */
                 "    telemetry: {enabled: true}\n" /* 12 */
                 XRAY_TAIL,
                 "t:7:5: error: unknown key 'regoin' in exporters::awsxray\n"
                 "t:8:18: error: exporters::awsxray::max_retries: expected an integer, got "
                 "'many'\n"
                 "t:9:25: error: exporters::awsxray::indexed_attributes: expected a list of "
                 "strings, got 'a'\n"
                 "t:10:22: error: exporters::awsxray::aws_log_groups: expected a string in the "
                 "list, got a sequence\n"
                 "t:11:21: error: unknown key 'queue_sise' in exporters::awsxray::sending_queue\n"
                 "t:12:5: warning: exporters::awsxray::telemetry is not implemented by otterd "
                 "and is ignored\n");
    /* Cross-field checks point at the value, or at the component when the key is absent. */
    ASSERT_FAILS(XRAY_HEAD
                 "    num_workers: 0\n"             /* 7 */
                 "    sending_queue:\n"             /* 8 */
                 "      queue_size: 0\n"            /* 9 */
                 XRAY_TAIL,
                 "t:7:18: error: exporters::awsxray: num_workers must be greater than zero\n"
                 "t:9:19: error: exporters::awsxray: sending_queue::queue_size must be greater "
                 "than zero\n");
    ASSERT_FAILS(XRAY_HEAD
                 "    request_timeout_seconds: 0\n" /* 7 */
                 "    sending_queue: {queue_size: 1000001}\n" /* 8 */
                 XRAY_TAIL,
                 "t:8:33: error: exporters::awsxray::sending_queue::queue_size: expected an "
                 "integer from 0 to 1000000, got '1000001'\n");
    /* Like the collector: X-Ray takes traces, a metrics pipeline cannot name it. */
    ASSERT_FAILS(XRAY_HEAD
                 "service:\n"                                              /* 7 */
                 "  pipelines:\n"                                          /* 8 */
                 "    metrics:\n"                                          /* 9 */
                 "      receivers: [otlp]\n"                               /* 10 */
                 "      exporters: [awsxray]\n",                           /* 11 */
                 "t:11:19: error: pipeline metrics: exporter 'awsxray' takes traces only\n");
    ASSERT_FAILS(XRAY_HEAD
                 "    request_timeout_seconds: 0\n" /* 7 */
                 XRAY_TAIL,
                 "t:7:30: error: exporters::awsxray: request_timeout_seconds must be greater "
                 "than zero\n");
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    const char *y = "receivers:\n"
                    "  otlp:\n"
                    "    protocols:\n"
                    "      grpc:\n"
                    "        tls: {cert_file: a, key_file: b}\n"
                    "      http:\n"
                    "        cors: {allowed_origins: [a, b]}\n"
                    "        traces_url_path: t\n"
                    "  awsxray: {endpoint: \"127.0.0.1:2000\", proxy_server: {region: x}}\n"
                    "processors:\n"
                    "  batch:\n"
                    "  resource_detection: {detectors: [env, eks]}\n"
                    "exporters:\n"
                    "  file: {path: x}\n"
                    "  nop:\n"
                    "extensions:\n"
                    "  health_check:\n"
                    "service:\n"
                    "  extensions: [health_check]\n"
                    "  pipelines:\n"
                    "    traces: {receivers: [otlp, awsxray], processors: [batch, "
                    "resource_detection], "
                    "exporters: [file]}\n"
                    "    logs: {receivers: [otlp], exporters: [nop]}\n";
    struct ag_config *cfg = NULL;
    ASSERT(failing_loads(y, &cfg) > 20);
    ag_config_free(cfg);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_adot_style), AG_TEST_CASE(test_adot_default_with_awsxray),
             AG_TEST_CASE(test_awsemf_options), AG_TEST_CASE(test_awsemf_errors),
             AG_TEST_CASE(test_awsemf_failmalloc), AG_TEST_CASE(test_awsxray_receiver),
             AG_TEST_CASE(test_defaults), AG_TEST_CASE(test_otlp_options),
             AG_TEST_CASE(test_go_debug_extensions), AG_TEST_CASE(test_resource_processor), AG_TEST_CASE(test_attributes_processor), AG_TEST_CASE(test_compression_algorithms), AG_TEST_CASE(test_ignored_keys_warn),
             AG_TEST_CASE(test_unknown_key), AG_TEST_CASE(test_wrong_types),
             AG_TEST_CASE(test_batch_max_size), AG_TEST_CASE(test_memory_limiter),
             AG_TEST_CASE(test_resource_detection), AG_TEST_CASE(test_debug_exporter),
             AG_TEST_CASE(test_file_exporter), AG_TEST_CASE(test_component_types),
             AG_TEST_CASE(test_component_types_processors), AG_TEST_CASE(test_pipelines),
             AG_TEST_CASE(test_warnings_unused_and_order), AG_TEST_CASE(test_extensions),
             AG_TEST_CASE(test_telemetry), AG_TEST_CASE(test_endpoints_and_tls),
             AG_TEST_CASE(test_env_in_config), AG_TEST_CASE(test_default_config),
             AG_TEST_CASE(test_split_endpoint), AG_TEST_CASE(test_load_file),
             AG_TEST_CASE(test_awsxray_exporter), AG_TEST_CASE(test_awsxray_exporter_errors),
             AG_TEST_CASE(test_failmalloc))
