#ifndef EXPORTER_FIXTURE_H
#define EXPORTER_FIXTURE_H

/*
 * An AWS exporter as otterd builds it (config -> create), pointed at the scripted HTTP server of
 * aws_test_server.h, with static test credentials in the environment: the fixture the awsxray,
 * awscloudwatchlogs and awsemf exporter tests share.
 */
#include "ag_buf.h"
#include "ag_component.h"
#include "ag_config.h"
#include "aws_test_server.h"

struct exporter_fix {
    struct event_base *base;
    struct ts_server s;
    struct ag_config *cfg;
    const struct ag_exporter_ops *ops;
    void *x; /* the exporter */
};

/*
 * Loads a config whose exporter |id| (region us-east-1, endpoint |url|, then the YAML lines
 * |extra| indented by 4) feeds a |signal| pipeline. Diagnostics go to |diag| (may be NULL).
 * Returns what ag_config_load_string() returns.
 */
int exporter_fix_load(enum ag_signal signal, const char *id, const char *url, const char *extra,
                      struct ag_config **cfg, struct ag_buf *diag);

/* Starts the server and creates the exporter through |ops|. Returns 0, or -1 (said in a TAP
 * comment). */
int exporter_fix_start(struct exporter_fix *f, const struct ag_exporter_ops *ops,
                       enum ag_signal signal, const char *id, const char *extra);

/* Destroys the exporter (which drains it), stops the server, frees the rest. */
void exporter_fix_stop(struct exporter_fix *f);

/* A payload of |signal| decoded from the OTLP/JSON |json| (counted as 1 item), or NULL. */
struct ag_payload *exporter_fix_payload(enum ag_signal signal, const char *json);

/* Runs the loop in 10 ms turns until |counter|{|labels|} reaches |want| (at most 3 s). */
void exporter_fix_run_until(struct exporter_fix *f, const char *counter, const char *labels,
                            double want);

/* The value of the self-telemetry counter |name|{|labels|}. */
double fix_counter(const char *name, const char *labels);

#endif /* EXPORTER_FIXTURE_H */
