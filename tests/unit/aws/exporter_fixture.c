/* SPDX-License-Identifier: Apache-2.0 */
/* The shared fixture of the AWS exporter tests (exporter_fixture.h). */
#include "exporter_fixture.h"
#include "ag_metrics.h"
#include "ag_otlp.h"
#include "ag_otlp_json.h"
#include "ag_payload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int exporter_fix_load(enum ag_signal signal, const char *id, const char *url, const char *extra,
                      struct ag_config **cfg, struct ag_buf *diag)
{
    char yaml[4096];
    snprintf(yaml, sizeof(yaml),
             "receivers:\n  otlp:\n    protocols:\n      grpc:\n"
             "exporters:\n  %s:\n    region: us-east-1\n    endpoint: %s\n%s"
             "service:\n  pipelines:\n    %s:\n      receivers: [otlp]\n"
             "      exporters: [%s]\n",
             id, url, extra, ag_signal_name(signal), id);
    return ag_config_load_string("t", yaml, strlen(yaml), cfg, diag);
}

int exporter_fix_start(struct exporter_fix *f, const struct ag_exporter_ops *ops,
                       enum ag_signal signal, const char *id, const char *extra)
{
    memset(f, 0, sizeof(*f));
    f->ops = ops;
    setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
    f->base = event_base_new();
    if (f->base == NULL || ts_start(&f->s, f->base) != 0) {
        return -1;
    }
    struct ag_buf d;
    ag_buf_init(&d, 8192);
    int rc = exporter_fix_load(signal, id, f->s.url, extra, &f->cfg, &d);
    if (rc != 0) {
        printf("# config: %s", ag_buf_str(&d));
    }
    ag_buf_cleanup(&d);
    if (rc != 0) {
        return -1;
    }
    struct ag_component_env env = {f->base, id, signal, {NULL, NULL}};
    char err[256] = "";
    long i = ag_config_find(f->cfg, AG_KIND_EXPORTER, id);
    if (i < 0 || ops->create(&f->cfg->components[i], &env, &f->x, err, sizeof(err)) != 0) {
        printf("# create: %s\n", err);
        return -1;
    }
    return 0;
}

void exporter_fix_stop(struct exporter_fix *f)
{
    if (f->x != NULL) {
        f->ops->destroy(f->x);
        f->x = NULL;
    }
    ts_stop(&f->s);
    ag_config_free(f->cfg);
    f->cfg = NULL;
    if (f->base != NULL) {
        event_base_free(f->base);
        f->base = NULL;
    }
}

struct ag_payload *exporter_fix_payload(enum ag_signal signal, const char *json)
{
    struct ag_arena *a = ag_arena_new(0);
    ProtobufCMessage *msg = NULL;
    char err[256];
    if (a == NULL || ag_otlp_json_decode(signal, (const uint8_t *)json, strlen(json), a, &msg,
                                         err, sizeof(err)) != 0) {
        printf("# decode: %s\n", err);
        ag_arena_free(a);
        return NULL;
    }
    return ag_payload_new(signal, a, msg, 1);
}

void exporter_fix_run_until(struct exporter_fix *f, const char *counter, const char *labels,
                            double want)
{
    for (int i = 0; i < 300 && fix_counter(counter, labels) < want; i++) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(f->base, &tv);
        event_base_dispatch(f->base);
    }
}

double fix_counter(const char *name, const char *labels)
{
    return ag_metric_value(ag_metrics_counter(name, "", labels));
}
