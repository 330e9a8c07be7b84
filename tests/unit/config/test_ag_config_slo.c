/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the slo exporter's config (exporters/slo/README.md): defaults, every option,
 * the SLO definition files loaded and checked at config time (their errors keep their own
 * file:line:col), unknown keys, bad values and the pipelines it may join. Line:col values were
 * counted by hand from the YAML next to them (line numbers in the comments).
 */
#include "ag_test.h"
#include "ag_config.h"
#include "config_check.h"
#include "ag_mem.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEC 1000000000ull

static const char good_yaml[] = "apiVersion: otter/v1\n"
                                "kind: SLO\n"
                                "metadata: {name: api-availability}\n"
                                "spec:\n"
                                "  service: api\n"
                                "  objective: \"99\"\n"
                                "  window: 1h\n"
                                "  sli:\n"
                                "    spans:\n"
                                "      availability: {}\n";

/* Line 6, column 16 is the '1x' of the objective (the quote opens at column 14). */
static const char bad_yaml[] = "apiVersion: otter/v1\n"
                               "kind: SLO\n"
                               "metadata: {name: api-availability}\n"
                               "spec:\n"
                               "  service: api\n"
                               "  objective: \"1x\"\n"
                               "  window: 1h\n"
                               "  sli:\n"
                               "    spans:\n"
                               "      availability: {}\n";

#define HEAD                                                                                \
    "receivers:\n"                 /* 1 */                                                  \
    "  otlp:\n"                    /* 2 */                                                  \
    "    protocols:\n"             /* 3 */                                                  \
    "      grpc:\n"                /* 4 */                                                  \
    "exporters:\n"                 /* 5 */                                                  \
    "  slo:\n"                     /* 6 */

#define TAIL                                                                                \
    "service:\n"                                                                            \
    "  pipelines:\n"                                                                        \
    "    traces:\n"                                                                         \
    "      receivers: [otlp]\n"                                                             \
    "      exporters: [slo]\n"

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(name, "wb");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static const struct ag_slo_config *slo_of(const struct ag_config *cfg, const char *id)
{
    long i = ag_config_find(cfg, AG_KIND_EXPORTER, id);
    return i >= 0 ? &cfg->components[i].u.slo : NULL;
}

static void test_defaults(void)
{
    const char *y = HEAD "    definitions: [good.yaml]\n" TAIL;
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    const struct ag_slo_config *s = slo_of(cfg, "slo");
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(cfg->components[ag_config_find(cfg, AG_KIND_EXPORTER, "slo")].type,
              AG_COMP_SLO_EXPORTER);
    ASSERT_UEQ(s->n_definitions, 1);
    ASSERT_STREQ(s->definitions[0], "good.yaml");
    ASSERT_NULL(s->state_file);
    ASSERT_UEQ(s->checkpoint_interval, 60 * SEC);
    ASSERT_UEQ(s->evaluation_interval, 10 * SEC);
    ASSERT_EQ(s->alert_log, 1);
    ASSERT_NULL(s->webhook.endpoint);
    ASSERT_UEQ(s->webhook.timeout, 5 * SEC);
    ASSERT_UEQ(s->webhook.max_retries, 3);
    ASSERT_EQ(s->webhook.slack, 0);
    ASSERT_NULL(s->sns.topic_arn);
    ASSERT_EQ(s->metrics.destination, 0);
    ASSERT_STREQ(s->metrics.namespace_, "Otter/SLO");
    ASSERT_STREQ(s->metrics.log_group_name, "/otter/slo");
    ASSERT_NULL(s->metrics.log_stream_name);
    ASSERT_UEQ(s->metrics.interval, 60 * SEC);
    ASSERT_UEQ(s->metrics.aws.num_workers, 8);
    ag_buf_cleanup(&d);
    ag_config_free(cfg);
}

static void test_all_options(void)
{
    const char *y = HEAD
        "    definitions: [good.yaml]\n"
        "    state_file: state/slo.ckpt\n"
        "    checkpoint_interval: 30s\n"
        "    evaluation_interval: 2s\n"
        "    alerts:\n"
        "      log: false\n"
        "      webhook:\n"
        "        endpoint: https://hooks.example.com/x\n"
        "        format: slack\n"
        "        timeout: 1500ms\n"
        "        max_retries: 5\n"
        "        headers: {Authorization: Bearer s3cret, X-Team: sre}\n"
        "      sns:\n"
        "        topic_arn: arn:aws:sns:eu-west-1:000000000000:slo\n"
        "        region: eu-west-1\n"
        "        endpoint: http://127.0.0.1:5000\n"
        "        role_arn: arn:aws:iam::000000000000:role/slo\n"
        "    metrics:\n"
        "      output_destination: cloudwatch\n"
        "      namespace: Team/SLO\n"
        "      log_group_name: /team/slo\n"
        "      log_stream_name: agent-1\n"
        "      interval: 15s\n"
        "      region: us-east-2\n"
        "      max_retries: 4\n"
        "service:\n"
        "  pipelines:\n"
        "    traces:\n"
        "      receivers: [otlp]\n"
        "      exporters: [slo]\n"
        "    metrics:\n"
        "      receivers: [otlp]\n"
        "      exporters: [slo]\n";
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_OK(load(y, &cfg, &d));
    ASSERT_STREQ(ag_buf_str(&d), "");
    const struct ag_slo_config *s = slo_of(cfg, "slo");
    ASSERT_NOT_NULL(s);
    ASSERT_STREQ(s->state_file, "state/slo.ckpt");
    ASSERT_UEQ(s->checkpoint_interval, 30 * SEC);
    ASSERT_UEQ(s->evaluation_interval, 2 * SEC);
    ASSERT_EQ(s->alert_log, 0);
    ASSERT_STREQ(s->webhook.endpoint, "https://hooks.example.com/x");
    ASSERT_EQ(s->webhook.slack, 1);
    ASSERT_UEQ(s->webhook.timeout, 1500000000ull);
    ASSERT_UEQ(s->webhook.max_retries, 5);
    ASSERT_UEQ(s->webhook.headers.n, 2);
    ASSERT_STREQ(s->webhook.headers.kv[0], "Authorization");
    ASSERT_STREQ(s->webhook.headers.kv[1], "Bearer s3cret");
    ASSERT_STREQ(s->webhook.headers.kv[2], "X-Team");
    ASSERT_STREQ(s->webhook.headers.kv[3], "sre");
    ASSERT_STREQ(s->sns.topic_arn, "arn:aws:sns:eu-west-1:000000000000:slo");
    ASSERT_STREQ(s->sns.aws.region, "eu-west-1");
    ASSERT_STREQ(s->sns.aws.endpoint, "http://127.0.0.1:5000");
    ASSERT_STREQ(s->sns.aws.role_arn, "arn:aws:iam::000000000000:role/slo");
    ASSERT_UEQ(s->sns.aws.max_retries, 2);
    ASSERT_EQ(s->metrics.destination, 1);
    ASSERT_STREQ(s->metrics.namespace_, "Team/SLO");
    ASSERT_STREQ(s->metrics.log_group_name, "/team/slo");
    ASSERT_STREQ(s->metrics.log_stream_name, "agent-1");
    ASSERT_UEQ(s->metrics.interval, 15 * SEC);
    ASSERT_STREQ(s->metrics.aws.region, "us-east-2");
    ASSERT_UEQ(s->metrics.aws.max_retries, 4);
    ag_buf_cleanup(&d);
    ag_config_free(cfg);

    const char *y2 = HEAD "    definitions: [good.yaml]\n"
                          "    metrics: {output_destination: stdout}\n"
                          "    alerts: {webhook: {endpoint: 'http://127.0.0.1:9/h', "
                          "format: json}}\n" TAIL;
    ASSERT_OK(load(y2, &cfg, &d));
    s = slo_of(cfg, "slo");
    ASSERT_EQ(s->metrics.destination, 2);
    ASSERT_EQ(s->webhook.slack, 0);
    ag_buf_cleanup(&d);
    ag_config_free(cfg);
}

/* The definition files' own diagnostics come through with their positions. */
static void test_definition_errors(void)
{
    ASSERT_FAILS(HEAD "    definitions: [bad.yaml]\n" TAIL,
                 "bad.yaml:6:16: error: objective (percent) '1x': expected a digit, '.' or the "
                 "end, got 'x'\n"
                 "t:7:18: error: exporters::slo::definitions: the SLO definitions have errors "
                 "(above)\n");
    ASSERT_FAILS(HEAD "    definitions: [good.yaml, missing.yaml]\n" TAIL,
                 "missing.yaml: error: cannot read: No such file or directory\n"
                 "t:7:18: error: exporters::slo::definitions: the SLO definitions have errors "
                 "(above)\n");
    /* Only regular files are read: a device or a FIFO could block or never end. */
    ASSERT_FAILS(HEAD "    definitions: [/dev/null, .]\n" TAIL,
                 "/dev/null: error: cannot read: not a regular file\n"
                 ".: error: cannot read: not a regular file\n"
                 "t:7:18: error: exporters::slo::definitions: the SLO definitions have errors "
                 "(above)\n");
    /* The same SLO name in two files is an error of the set (references span files). */
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ASSERT_EQ(load(HEAD "    definitions: [good.yaml, good.yaml]\n" TAIL, &cfg, &d), AG_EINVAL);
    ASSERT_STRCONTAINS(ag_buf_str(&d), "good.yaml:1:1: error: SLO 'api-availability' is "
                                       "already defined at good.yaml:1:1");
    ASSERT_NULL(cfg);
    ag_buf_cleanup(&d);
}

static void test_errors(void)
{
    /* column 5 is where "definitions" would be: the component's body */
    ASSERT_FAILS(HEAD "    state_file: x\n" TAIL,
                 "t:6:3: error: exporters::slo: definitions is required: a list of SLO "
                 "definition files\n");
    ASSERT_FAILS(HEAD "    definitions: [good.yaml]\n"
                      "    bogus: 1\n" TAIL,
                 "t:8:5: error: unknown key 'bogus' in exporters::slo\n");
    ASSERT_FAILS(HEAD "    definitions: [good.yaml]\n"
                      "    alerts: {log: true, pager: 1}\n" TAIL,
                 "t:8:25: error: unknown key 'pager' in exporters::slo::alerts\n");
    ASSERT_FAILS(HEAD "    definitions: [good.yaml]\n"
                      "    evaluation_interval: 10q\n" TAIL,
                 "t:8:26: error: exporters::slo::evaluation_interval: expected a duration like "
                 "200ms, got '10q'\n");
    ASSERT_FAILS(HEAD "    definitions: [good.yaml]\n"
                      "    checkpoint_interval: 10ms\n" TAIL,
                 "t:8:26: error: exporters::slo: checkpoint_interval must be at least 1s\n");
    ASSERT_FAILS(HEAD "    definitions: [good.yaml]\n"
                      "    alerts:\n"
                      "      webhook: {endpoint: ftp://x, format: xml}\n" TAIL,
                 "t:9:27: error: exporters::slo::alerts::webhook::endpoint: expected an http:// "
                 "or https:// URL, got 'ftp://x'\n"
                 "t:9:44: error: exporters::slo::alerts::webhook::format: expected json or "
                 "slack, got 'xml'\n");
    ASSERT_FAILS(HEAD "    definitions: [good.yaml]\n"
                      "    alerts:\n"
                      "      webhook: {format: json}\n" TAIL,
                 "t:9:16: error: exporters::slo::alerts::webhook: endpoint is required\n");
    ASSERT_FAILS(HEAD "    definitions: [good.yaml]\n"
                      "    alerts:\n"
                      "      webhook: {endpoint: 'http://h/', headers: {Host: x}}\n" TAIL,
                 "t:9:50: error: exporters::slo::alerts::webhook::headers: header 'Host' is set "
                 "by otterd\n");
    /* A header value is never echoed: it may be a secret. */
    ASSERT_FAILS(HEAD "    definitions: [good.yaml]\n"
                      "    alerts:\n"
                      "      webhook: {endpoint: 'http://h/', headers: {X-A: [s3cret]}}\n" TAIL,
                 "t:9:55: error: exporters::slo::alerts::webhook::headers: header 'X-A': "
                 "expected a one-line string\n");
    ASSERT_FAILS(HEAD "    definitions: [good.yaml]\n"
                      "    alerts:\n"
                      "      sns: {region: eu-west-1, num_workers: 0}\n" TAIL,
                 "t:9:45: error: exporters::slo::alerts::sns: num_workers must be greater than "
                 "zero\n"
                 "t:9:12: error: exporters::slo::alerts::sns: topic_arn is required: an SNS "
                 "topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)\n");
    ASSERT_FAILS(HEAD "    definitions: [good.yaml]\n"
                      "    metrics: {output_destination: kafka, interval: 0s, foo: 1}\n" TAIL,
                 "t:8:35: error: exporters::slo::metrics::output_destination: expected none, "
                 "cloudwatch or stdout, got 'kafka'\n"
                 "t:8:56: error: unknown key 'foo' in exporters::slo::metrics\n");
    ASSERT_FAILS(HEAD "    definitions: [good.yaml]\n"
                      "    metrics: {interval: 0s}\n" TAIL,
                 "t:8:25: error: exporters::slo::metrics: interval must be at least 1s\n");
}

static void test_pipelines(void)
{
    ASSERT_FAILS(HEAD "    definitions: [good.yaml]\n"
                      "service:\n"                       /* 8 */
                      "  pipelines:\n"                   /* 9 */
                      "    logs:\n"                      /* 10 */
                      "      receivers: [otlp]\n"        /* 11 */
                      "      exporters: [slo]\n",        /* 12 */
                 "t:12:19: error: pipeline logs: exporter 'slo' takes traces and "
                 "metrics only\n");
}

/* Every allocation of the slo parsers and of the definitions' loading may fail. */
static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    const char *y = HEAD "    definitions: [good.yaml]\n"
                         "    alerts: {webhook: {endpoint: 'http://h/', headers: {A: b}}}\n" TAIL;
    struct ag_config *cfg = NULL;
    ASSERT(failing_loads(y, &cfg) > 20);
    ag_config_free(cfg);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

static char tmpdir[64];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ag_config_slo.XXXXXX");
    if (mkdtemp(tmpdir) == NULL || chdir(tmpdir) != 0) {
        perror("setup");
        exit(99);
    }
    write_file("good.yaml", good_yaml);
    write_file("bad.yaml", bad_yaml);
}

static void test_cleanup(void)
{
    ASSERT_OK(unlink("good.yaml"));
    ASSERT_OK(unlink("bad.yaml"));
    ASSERT_OK(rmdir(tmpdir));
}

static void test_setup(void)
{
    setup();
}

AG_TEST_MAIN(AG_TEST_CASE(test_setup), AG_TEST_CASE(test_defaults),
             AG_TEST_CASE(test_all_options), AG_TEST_CASE(test_definition_errors),
             AG_TEST_CASE(test_errors), AG_TEST_CASE(test_pipelines),
             AG_TEST_CASE(test_failmalloc), AG_TEST_CASE(test_cleanup))
