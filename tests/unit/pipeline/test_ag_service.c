/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for ag_service's awsxray receiver wiring: datagrams on a real UDP socket of
 * 127.0.0.1 reach every exporter of the pipeline that takes X-Ray documents, the others are
 * counted as dropped, malformed datagrams are counted as invalid, and building and starting the
 * service is OOM-safe.
 */
#include "ag_test.h"
#include "ag_config.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_service.h"
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* An exporter that records the X-Ray documents it is given (the "debug" type stands for it). */
struct fake {
    int docs;
    size_t bytes;
    int refuse; /* answer AG_EAGAIN */
};

static struct fake fake_state;

static int fake_create(const struct ag_component_config *cfg, const struct ag_component_env *env,
                       void **out, char *err, size_t errlen)
{
    (void)cfg;
    (void)env;
    (void)err;
    (void)errlen;
    *out = &fake_state;
    return 0;
}

static int fake_consume(void *self, struct ag_payload *p)
{
    (void)self;
    (void)p;
    return 0;
}

static int fake_consume_xray(void *self, const uint8_t *doc, size_t len)
{
    struct fake *f = self;
    (void)doc;
    if (f->refuse) {
        return AG_EAGAIN;
    }
    f->docs++;
    f->bytes += len;
    return 0;
}

static void fake_flush(void *self)
{
    (void)self;
}

static void fake_destroy(void *self)
{
    (void)self;
}

static const struct ag_exporter_ops fake_ops = {
    .type = "debug",
    .create = fake_create,
    .consume = fake_consume,
    .flush = fake_flush,
    .destroy = fake_destroy,
    .consume_xray = fake_consume_xray,
};

static const struct ag_exporter_ops *lookup(enum ag_component_type type)
{
    return type == AG_COMP_DEBUG ? &fake_ops : type == AG_COMP_NOP ? &ag_nop_exporter_ops : NULL;
}

/* A port free a moment ago (the service does not say which port 0 became). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
}

static struct ag_config *load_config(int port)
{
    char y[1024];
    snprintf(y, sizeof(y),
             "receivers:\n"
             "  awsxray:\n"
             "    endpoint: 127.0.0.1:%d\n"
             "processors:\n"
             "  batch:\n"
             "exporters:\n"
             "  debug:\n"
             "  nop:\n"
             "service:\n"
             "  telemetry: {metrics: {address: \"\"}}\n"
             "  pipelines:\n"
             "    traces:\n"
             "      receivers: [awsxray]\n"
             "      processors: [batch]\n"
             "      exporters: [debug, nop]\n",
             port);
    struct ag_config *cfg = NULL;
    struct ag_buf d;
    ag_buf_init(&d, 4096);
    int rc = ag_config_load_string("t", y, strlen(y), &cfg, &d);
    ag_buf_cleanup(&d);
    return rc == 0 ? cfg : NULL;
}

/* The value of the series |series| (name{labels}) in /metrics, or -1. */
static double metric(const char *series)
{
    struct ag_buf b;
    double v = -1;
    ag_buf_init(&b, 1 << 20);
    if (ag_metrics_render(&b) == 0) {
        const char *p = strstr(ag_buf_str(&b), series);
        if (p != NULL && sscanf(p + strlen(series), " %lf", &v) != 1) {
            v = -1;
        }
    }
    ag_buf_cleanup(&b);
    return v;
}

#define LABELS "{receiver=\"awsxray\",transport=\"udp\",signal=\"traces\","
#define DOC                                                                                 \
    "{\"format\": \"json\", \"version\": 1}\n{\"name\": \"a\", \"id\": \"0123456789abcdef\", " \
    "\"trace_id\": \"1-5759e988-bd862e3fe1be46a994272793\", \"start_time\": 1, "             \
    "\"end_time\": 2}"

static void send_str(int port, const char *s)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to;
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ssize_t n = sendto(fd, s, strlen(s), 0, (const struct sockaddr *)&to, sizeof(to));
    (void)n;
    close(fd);
}

static double handled(void)
{
    return metric("otter_receiver_requests_total" LABELS "outcome=\"accepted\"}") +
           metric("otter_receiver_requests_total" LABELS "outcome=\"invalid\"}") +
           metric("otter_receiver_requests_total" LABELS "outcome=\"refused\"}");
}

static void run_until(struct event_base *base, double want)
{
    for (int i = 0; i < 5000 && handled() < want; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
}

static void test_documents_fan_out(void)
{
    int port = free_port();
    struct ag_config *cfg = load_config(port);
    struct event_base *base = event_base_new();
    struct ag_service *svc = NULL;
    char err[256] = "";
    memset(&fake_state, 0, sizeof(fake_state));
    ASSERT_NOT_NULL(cfg);
    ASSERT_NOT_NULL(base);
    ASSERT_OK(ag_service_new(cfg, base, lookup, &svc, err, sizeof(err)));
    ASSERT_OK(ag_service_start(svc, err, sizeof(err)));

    send_str(port, DOC);
    send_str(port, "{\"format\": \"json\", \"version\": 1}\n{}");
    send_str(port, DOC);
    run_until(base, 3);
    ASSERT_EQ(fake_state.docs, 2);
    ASSERT_EQ(fake_state.bytes, 2 * (strlen(DOC) - 33));
    ASSERT_EQ(metric("otter_receiver_requests_total" LABELS "outcome=\"accepted\"}"), 2);
    ASSERT_EQ(metric("otter_receiver_items_total" LABELS "outcome=\"accepted\"}"), 2);
    ASSERT_EQ(metric("otter_receiver_requests_total" LABELS "outcome=\"invalid\"}"), 1);
    ASSERT_EQ(metric("otter_receiver_dropped_total" LABELS
                     "exporter=\"nop\",reason=\"unsupported_exporter\"}"),
              2);
    ASSERT_EQ(metric("otter_exporter_sent_total{exporter=\"debug\",signal=\"traces\"}"), 2);

    /* An exporter that refuses: the document is lost for it (UDP cannot push back), counted. */
    fake_state.refuse = 1;
    send_str(port, DOC);
    run_until(base, 4);
    ASSERT_EQ(metric("otter_receiver_requests_total" LABELS "outcome=\"refused\"}"), 1);
    ASSERT_EQ(metric("otter_receiver_dropped_total" LABELS
                     "exporter=\"debug\",reason=\"exporter_refused\"}"),
              1);

    /* Draining: what was queued is delivered, then the socket is closed. */
    fake_state.refuse = 0;
    send_str(port, DOC);
    ag_service_stop_accepting(svc);
    ASSERT_EQ(fake_state.docs, 3);
    ASSERT(!ag_service_ready(svc));
    ag_service_free(svc);
    ag_config_free(cfg);
    event_base_free(base);
    ag_metrics_reset();
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    int port = free_port();
    struct ag_config *cfg = load_config(port);
    struct event_base *base = event_base_new();
    ASSERT_NOT_NULL(cfg);
    ASSERT_NOT_NULL(base);
    for (long n = 0;; n++) {
        struct ag_service *svc = NULL;
        char err[256] = "";
        ag_mem_fail_after(n);
        int rc = ag_service_new(cfg, base, lookup, &svc, err, sizeof(err));
        if (rc == 0) {
            rc = ag_service_start(svc, err, sizeof(err));
        }
        ag_mem_fail_after(-1);
        ag_service_free(svc);
        ag_metrics_reset();
        if (rc == 0) {
            ASSERT(n > 5);
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
    }
    ag_config_free(cfg);
    event_base_free(base);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_documents_fan_out), AG_TEST_CASE(test_failmalloc))
