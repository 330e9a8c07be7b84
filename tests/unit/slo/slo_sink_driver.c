/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives the slo exporter's sinks from outside otterd, for tests/integration/test_slo_sinks.py:
 * builds a struct ag_slo_config from argv, sends the firing and the resolved change of the
 * hand-built alert of slo_sink_sample.h, one EMF emission (checkout-availability and the no-data
 * idle-slo, at the current time), runs the loop until the sinks are idle, then prints the sinks'
 * self-metrics (the otter_slo_sink_* lines of /metrics) to stderr and exits 0 (1 on a usage or
 * setup error, 2 when the sinks were not idle within --wait seconds).
 *
 *   slo_sink_driver [--webhook URL] [--slack] [--header NAME=VALUE]... [--timeout-ms N]
 *                   [--max-retries N] [--sns-topic ARN] [--endpoint URL] [--region R]
 *                   [--metrics none|stdout|cloudwatch] [--namespace NS] [--log-group G]
 *                   [--log-stream S] [--no-log] [--wait SECONDS]
 * AWS credentials come from the environment (the usual chain).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "ag_buf.h"
#include "ag_log.h"
#include "ag_metrics.h"
#include "ag_time.h"
#include "ex_slo_sink.h"
#include "slo_sink_sample.h"

#define MAX_HEADERS 16

static int usage(const char *why)
{
    fprintf(stderr, "slo_sink_driver: %s\n", why);
    return 1;
}

int main(int argc, char **argv)
{
    struct ag_slo_config cfg;
    char *kv[2 * MAX_HEADERS];
    double wait_s = 60;
    memset(&cfg, 0, sizeof(cfg));
    cfg.alert_log = 1;
    cfg.webhook.timeout = 5000000000ull;
    cfg.webhook.max_retries = 3;
    cfg.webhook.headers.kv = kv;
    cfg.sns.aws.max_retries = 2;
    cfg.metrics.aws.max_retries = 2;
    ag_log_setup(AG_LOG_INFO, AG_LOG_TEXT);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(a, "--slack") == 0) {
            cfg.webhook.slack = 1;
            takes = false;
        } else if (strcmp(a, "--no-log") == 0) {
            cfg.alert_log = 0;
            takes = false;
        } else if (v == NULL) {
            return usage("an option lacks its value (or is unknown)");
        } else if (strcmp(a, "--webhook") == 0) {
            cfg.webhook.endpoint = argv[i + 1];
        } else if (strcmp(a, "--header") == 0) {
            char *eq = strchr(argv[i + 1], '=');
            if (eq == NULL || cfg.webhook.headers.n == MAX_HEADERS) {
                return usage("--header: expected NAME=VALUE (at most 16)");
            }
            *eq = '\0';
            kv[2 * cfg.webhook.headers.n] = argv[i + 1];
            kv[2 * cfg.webhook.headers.n + 1] = eq + 1;
            cfg.webhook.headers.n++;
        } else if (strcmp(a, "--timeout-ms") == 0) {
            cfg.webhook.timeout = strtoull(v, NULL, 10) * 1000000ull;
        } else if (strcmp(a, "--max-retries") == 0) {
            cfg.webhook.max_retries = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(a, "--sns-topic") == 0) {
            cfg.sns.topic_arn = argv[i + 1];
        } else if (strcmp(a, "--endpoint") == 0) {
            cfg.sns.aws.endpoint = argv[i + 1];
            cfg.metrics.aws.endpoint = argv[i + 1];
        } else if (strcmp(a, "--region") == 0) {
            cfg.sns.aws.region = argv[i + 1];
            cfg.metrics.aws.region = argv[i + 1];
        } else if (strcmp(a, "--metrics") == 0) {
            if (strcmp(v, "none") == 0) {
                cfg.metrics.destination = 0;
            } else if (strcmp(v, "cloudwatch") == 0) {
                cfg.metrics.destination = 1;
            } else if (strcmp(v, "stdout") == 0) {
                cfg.metrics.destination = 2;
            } else {
                return usage("--metrics: expected none, stdout or cloudwatch");
            }
        } else if (strcmp(a, "--namespace") == 0) {
            cfg.metrics.namespace_ = argv[i + 1];
        } else if (strcmp(a, "--log-group") == 0) {
            cfg.metrics.log_group_name = argv[i + 1];
        } else if (strcmp(a, "--log-stream") == 0) {
            cfg.metrics.log_stream_name = argv[i + 1];
        } else if (strcmp(a, "--wait") == 0) {
            wait_s = strtod(v, NULL);
        } else {
            return usage("unknown option");
        }
        if (takes) {
            i++;
        }
    }

    struct slo_sink_sample smp;
    if (slo_sink_sample_init(&smp) != 0) {
        return usage("the sample SLO did not build");
    }
    struct event_base *base = event_base_new();
    struct ex_slo_sinks *s = NULL;
    char err[512] = "";
    if (base == NULL) {
        return usage("no event loop");
    }
    int rc = ex_slo_sinks_new(base, &cfg, &s, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "slo_sink_driver: %s: %s\n", ag_strerror(rc), err);
        event_base_free(base);
        return 1;
    }
    struct slo_alert_event ev;
    slo_sink_sample_event(&smp, true, &ev);
    ex_slo_sinks_alert(s, &ev);
    slo_sink_sample_event(&smp, false, &ev);
    ex_slo_sinks_alert(s, &ev);
    struct ex_slo_metric_input in[2] = {{&smp.fire, 995, 1000}, {&smp.idle, 0, 0}};
    int64_t now_ms = (int64_t)(ag_time_now_ns() / 1000000u);
    rc = ex_slo_sinks_metrics(s, now_ms, in, 2);
    if (rc != 0) {
        fprintf(stderr, "slo_sink_driver: metrics: %s\n", ag_strerror(rc));
    }
    double end = (double)ag_time_mono_ns() / 1e9 + wait_s;
    while (!ex_slo_sinks_idle(s) && (double)ag_time_mono_ns() / 1e9 < end) {
        struct timeval tv = {0, 20000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    int status = ex_slo_sinks_idle(s) ? 0 : 2;
    ex_slo_sinks_free(s);
    event_base_free(base);

    struct ag_buf m;
    ag_buf_init(&m, 1 << 20);
    if (ag_metrics_render(&m) == 0) {
        for (const char *p = ag_buf_str(&m); *p != '\0';) {
            const char *nl = strchr(p, '\n');
            size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
            if (strncmp(p, "otter_slo_sink_", 15) == 0 ||
                strncmp(p, "otter_exporter_log_events_", 26) == 0) {
                fprintf(stderr, "%.*s\n", (int)len, p);
            }
            p += len + (nl != NULL);
        }
    }
    ag_buf_cleanup(&m);
    return status;
}
