/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otterd: flags, config, signals and lifecycle. `otterd [--config FILE]` runs the agent (the
 * built-in default when no config is given); `otterd validate --config FILE` checks a config.
 * SIGTERM or SIGINT drains: stop accepting, answer what is in flight, flush every processor and
 * exporter, exit 0. A second signal exits at once.
 */
#include "ag_config.h"
#include "ag_gates.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_service.h"
#include "ag_translate.h"
#include "ex_debug.h"
#include "ex_file.h"
#include "ex_xray_exporter.h"
#include "ex_xray_proxy.h"
#include "ex_cw_exporter.h"
#include "ex_cw_emf_exporter.h"
#include "ex_slo_exporter.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "config.h"

/* How long in-flight requests get to finish once listeners are closed, at most (and never more
 * than half of service.shutdown_timeout). */
#define DRAIN_GRACE_NS (500ull * 1000000ull)

static const char usage[] =
    "usage: otterd [--config FILE] [--log-level LEVEL] [--log-format text|json]\n"
    "              [--feature-gates IDS]\n"
    "       otterd validate --config FILE [--feature-gates IDS]\n"
    "%s"
    "       otterd --version | --help\n"
    "\n"
    "Runs the Otter OpenTelemetry agent. With no --config it runs the built-in default:\n"
    "OTLP/gRPC on localhost:4317, OTLP/HTTP on localhost:4318, and file exporters writing\n"
    "OTLP/JSON lines under ./otter-data/ (traces.jsonl, metrics.jsonl, logs.jsonl).\n"
    "\n"
    "commands:\n"
    "  validate            check the config and exit: 0 when valid, 1 with file:line:col errors\n"
    "  translate           print, one per line, the documents an exporter would send for OTLP\n"
    "                      requests read from FILE or stdin (OTLP/JSON: one request, or one\n"
    "                      per line as the file exporter writes; or one protobuf request):\n"
    "                      --to xray (traces: X-Ray segment documents), --to emf (metrics: EMF\n"
    "                      messages), --to cwlogs (logs: {\"logGroupName\", \"logStreamName\",\n"
    "                      \"timestamp\", \"message\"} events); --config FILE takes the options\n"
    "                      of its first awsxray, awsemf or awscloudwatchlogs exporter\n"
    "\n"
    "options:\n"
    "  --config FILE       an OpenTelemetry Collector / ADOT style YAML config (also "
    "--config=FILE)\n"
    "  --log-level LEVEL   debug, info, warn or error (overrides service.telemetry.logs.level)\n"
    "  --log-format FMT    text or json (overrides service.telemetry.logs.encoding)\n"
    "  --feature-gates IDS the collector's feature gates, comma-separated, each optionally\n"
    "                      prefixed with + or -: awsemf.nodimrollupdefault (awsemf's\n"
    "                      dimension_rollup_option defaults to NoDimensionRollup),\n"
    "                      exporter.awsxray.skiptimestampvalidation (awsxray's\n"
    "                      skip_timestamp_validation defaults to true)\n"
    "  --version           print the version and exit\n"
    "  --help              print this help and exit\n"
    "\n"
    "signals: SIGTERM/SIGINT drain and exit 0; a second one exits at once.\n";

static void print_usage(FILE *f)
{
    fprintf(f, usage, ag_translate_usage);
}

static const struct ag_exporter_ops *lookup_exporter(enum ag_component_type type)
{
    switch (type) {
    case AG_COMP_FILE:
        return &ex_file_ops;
    case AG_COMP_DEBUG:
        return &ex_debug_ops;
    case AG_COMP_NOP:
        return &ag_nop_exporter_ops;
    case AG_COMP_AWSXRAY_EXPORTER:
        return &ex_xray_exporter_ops;
    case AG_COMP_AWSCLOUDWATCHLOGS_EXPORTER:
        return &ex_cw_exporter_ops;
    case AG_COMP_AWSEMF_EXPORTER:
        return &ex_cw_emf_exporter_ops;
    case AG_COMP_SLO_EXPORTER:
        return &ex_slo_exporter_ops;
    default:
        return NULL;
    }
}

struct run_state {
    struct event_base *base;
    struct ag_service *svc;
    struct event *grace;
    uint64_t shutdown_timeout; /* ns */
    int signals;
};

/* The drain overran service.shutdown_timeout: leave at once (async-signal-safe). */
static void on_alarm(int sig)
{
    static const char msg[] = "otterd: shutdown_timeout passed while draining: exiting now\n";
    (void)sig;
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    _exit(1);
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct run_state *st = arg;
    ag_service_flush(st->svc);
    event_base_loopexit(st->base, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct run_state *st = arg;
    if (st->signals++ > 0) {
        ag_log_warn("otterd", "second signal: exiting now");
        event_base_loopbreak(st->base);
        return;
    }
    ag_log_info("otterd", "received %s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    /* Whatever happens while draining, the process is gone when shutdown_timeout has passed. */
    uint64_t secs = (st->shutdown_timeout + 999999999ull) / 1000000000ull;
    signal(SIGALRM, on_alarm);
    alarm(secs > 0 ? (unsigned)secs : 1);
    ag_service_stop_accepting(st->svc);
    uint64_t grace =
        st->shutdown_timeout / 2 < DRAIN_GRACE_NS ? st->shutdown_timeout / 2 : DRAIN_GRACE_NS;
    struct timeval tv = {(time_t)(grace / 1000000000ull),
                         (suseconds_t)(grace % 1000000000ull / 1000)};
    event_add(st->grace, &tv);
}

static int print_diag(struct ag_buf *diag)
{
    if (diag->len > 0) {
        fputs(ag_buf_str(diag), stderr);
        if (diag->data[diag->len - 1] != '\n') {
            fputc('\n', stderr);
        }
    }
    return 0;
}

/* Logs each line of a successful load's diagnostics (warnings) through the configured logger. */
static void log_diag(const struct ag_buf *diag)
{
    const char *p = ag_buf_str(diag);
    while (*p != '\0') {
        size_t n = strcspn(p, "\n");
        if (n > 0) {
            ag_log_warn("config", "%.*s", (int)n, p);
        }
        p += n + (p[n] == '\n');
    }
}

/* Loads the config. Errors go to stderr as they are; warnings stay in |warnings| (may be NULL:
 * then they are printed too). */
static int load(const char *path, struct ag_config **cfg, struct ag_buf *warnings)
{
    struct ag_buf diag;
    ag_buf_init(&diag, 1024 * 1024);
    int rc = path ? ag_config_load_file(path, cfg, &diag) : ag_config_default(NULL, cfg, &diag);
    if (rc == 0 && warnings != NULL) {
        *warnings = diag;
        ag_buf_init(&diag, 0);
    } else {
        print_diag(&diag);
    }
    ag_buf_cleanup(&diag);
    if (rc != 0 && path != NULL && (rc == AG_ENOTFOUND || rc == AG_EIO)) {
        fprintf(stderr, "otterd: cannot read %s: %s\n", path, ag_strerror(rc));
    }
    return rc;
}

static int run(const char *config_path, int log_level, int log_json)
{
    struct ag_config *cfg = NULL;
    struct run_state st;
    memset(&st, 0, sizeof(st));
    struct event *sigterm = NULL, *sigint = NULL;
    int status = 1;
    char err[512] = "";

    (void)ag_mem_tune_malloc(); /* before anything allocates much: see ag_mem.h */
    struct ag_buf warnings;
    ag_buf_init(&warnings, 1024 * 1024);
    if (load(config_path, &cfg, &warnings) != 0) {
        return 1;
    }
    ag_log_setup(log_level >= 0 ? (enum ag_log_level)log_level : (enum ag_log_level)cfg->log_level,
                 log_json >= 0 ? (enum ag_log_format)log_json
                               : (cfg->log_json ? AG_LOG_JSON : AG_LOG_TEXT));
    log_diag(&warnings);
    ag_buf_cleanup(&warnings);
    signal(SIGPIPE, SIG_IGN);
    st.base = event_base_new();
    if (st.base == NULL) {
        fprintf(stderr, "otterd: cannot create the event loop\n");
        goto out;
    }
    if (ag_service_new(cfg, st.base, lookup_exporter, &st.svc, err, sizeof(err)) != 0) {
        ag_log_error("otterd", "%s", err);
        goto out;
    }
    ag_service_set_xray_proxy(st.svc, &ex_xray_proxy_ops);
    /* Signals are watched before the receivers listen: a SIGTERM right after a "listening"
     * line drains (the callbacks run only in the loop). */
    st.shutdown_timeout = cfg->shutdown_timeout;
    st.grace = evtimer_new(st.base, on_grace, &st);
    sigterm = evsignal_new(st.base, SIGTERM, on_signal, &st);
    sigint = evsignal_new(st.base, SIGINT, on_signal, &st);
    if (st.grace == NULL || sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) != 0 ||
        event_add(sigint, NULL) != 0) {
        ag_log_error("otterd", "cannot install signal handlers");
        goto out;
    }
    if (ag_service_start(st.svc, err, sizeof(err)) != 0) {
        ag_log_error("otterd", "%s", err);
        goto out;
    }
    ag_log_info("otterd", "otterd %s running with %s", OTTER_VERSION, cfg->source);
    event_base_dispatch(st.base);
    status = st.signals > 1 ? 1 : 0;
    ag_log_info("otterd", "stopped");
out:
    if (sigterm != NULL) {
        event_free(sigterm);
    }
    if (sigint != NULL) {
        event_free(sigint);
    }
    if (st.grace != NULL) {
        event_free(st.grace);
    }
    ag_service_free(st.svc);
    if (st.base != NULL) {
        /* libevent 2.1 releases freed bufferevents that had timeouts only from the loop. */
        event_base_loop(st.base, EVLOOP_NONBLOCK);
        event_base_free(st.base);
    }
    ag_config_free(cfg);
    ag_metrics_reset();
    return status;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    int validate = 0, log_level = -1, log_json = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("otterd %s\n", OTTER_VERSION);
            return 0;
        } else if (strcmp(a, "translate") == 0 && i == 1) {
            return ag_translate_main(argc - 2, argv + 2);
        } else if (strcmp(a, "validate") == 0 && i == 1) {
            validate = 1;
        } else if (strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) {
            if (++i == argc) {
                fprintf(stderr, "otterd: --config needs a file name\n");
                print_usage(stderr);
                return 2;
            }
            config_path = argv[i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            config_path = a + 9;
        } else if (strcmp(a, "--log-level") == 0 || strncmp(a, "--log-level=", 12) == 0) {
            const char *v = a[11] == '=' ? a + 12 : (++i < argc ? argv[i] : "");
            log_level = ag_log_level_parse(v);
            if (log_level < 0) {
                fprintf(stderr,
                        "otterd: --log-level: expected debug, info, warn or error, got "
                        "\"%s\"\n",
                        v);
                return 2;
            }
        } else if (strcmp(a, "--feature-gates") == 0 || strncmp(a, "--feature-gates=", 16) == 0) {
            const char *v = a[15] == '=' ? a + 16 : (++i < argc ? argv[i] : "");
            char err[512];
            if (ag_gates_parse(v, err, sizeof(err)) != 0) {
                fprintf(stderr, "otterd: --feature-gates: %s\n", err);
                return 2;
            }
        } else if (strcmp(a, "--log-format") == 0 || strncmp(a, "--log-format=", 13) == 0) {
            const char *v = a[12] == '=' ? a + 13 : (++i < argc ? argv[i] : "");
            if (strcmp(v, "json") == 0) {
                log_json = 1;
            } else if (strcmp(v, "text") == 0) {
                log_json = 0;
            } else {
                fprintf(stderr, "otterd: --log-format: expected text or json, got \"%s\"\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "otterd: unknown argument \"%s\"\n", a);
            print_usage(stderr);
            return 2;
        }
    }
    if (validate) {
        struct ag_config *cfg = NULL;
        if (config_path == NULL) {
            fprintf(stderr, "otterd validate: --config FILE is required\n");
            return 2;
        }
        if (load(config_path, &cfg, NULL) != 0) {
            return 1;
        }
        printf("%s: valid\n", config_path);
        ag_config_free(cfg);
        return 0;
    }
    return run(config_path, log_level, log_json);
}
