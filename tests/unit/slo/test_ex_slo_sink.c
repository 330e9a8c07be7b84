/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SLO sinks (exporters/slo/ex_slo_sink*): the exact webhook JSON, Slack text, SNS form and
 * EMF events of the hand-built evaluations of slo_sink_sample.h, the webhook's retry decisions,
 * and the webhook sink against a scripted local HTTP server (retries, order per alert, no retry
 * on 400).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ag_buf.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_test.h"
#include "aws_test_server.h"
#include "ex_slo_sink.h"
#include "ex_slo_sink_int.h"
#include "slo_sink_sample.h"

/* ---- documents ------------------------------------------------------------------------------- */

/* Burn rates of the alert's windows, long first: 1h 144/10 = 14.4, 5m 20/1 = 20. Budget left
 * 2/10 = 0.2 (20 %). The objective 999/1000 prints back as "99.9". */
static const char fire_json[] =
    "{\"slo\":\"checkout-availability\",\"service\":\"checkout\",\"alert\":\"page\","
    "\"severity\":\"page\",\"state\":\"firing\",\"at\":\"2025-01-31T10:00:00Z\","
    "\"objective\":\"99.9\",\"status\":\"WARNING\",\"burn_rates\":{\"1h\":14.4,\"5m\":20},"
    "\"error_budget_remaining_fraction\":0.2,\"reason\":\"burn rate over 14.4\","
    "\"summary\":\"FIRING: SLO checkout-availability, alert page (severity page): burn rate 14.4 "
    "over 1h, 20 over 5m; 20% of the error budget left; status WARNING\"}";

/* One minute later (10:01:00Z): 1h 25/10 = 2.5, 5m 0/1 = 0; no reason once resolved. */
static const char resolved_json[] =
    "{\"slo\":\"checkout-availability\",\"service\":\"checkout\",\"alert\":\"page\","
    "\"severity\":\"page\",\"state\":\"resolved\",\"at\":\"2025-01-31T10:01:00Z\","
    "\"objective\":\"99.9\",\"status\":\"WARNING\",\"burn_rates\":{\"1h\":2.5,\"5m\":0},"
    "\"error_budget_remaining_fraction\":0.2,\"reason\":null,"
    "\"summary\":\"RESOLVED: SLO checkout-availability, alert page (severity page): burn rate "
    "2.5 over 1h, 0 over 5m; 20% of the error budget left; status WARNING\"}";

static void test_webhook_json(void)
{
    struct slo_sink_sample s;
    struct slo_alert_event ev;
    struct ag_buf b;
    ASSERT_OK(slo_sink_sample_init(&s));
    ag_buf_init(&b, 1 << 20);
    slo_sink_sample_event(&s, true, &ev);
    ASSERT_OK(ex_slo_webhook_body(&ev, false, &b));
    ASSERT_STREQ(ag_buf_str(&b), fire_json);
    ag_buf_reset(&b);
    slo_sink_sample_event(&s, false, &ev);
    ASSERT_OK(ex_slo_webhook_body(&ev, false, &b));
    ASSERT_STREQ(ag_buf_str(&b), resolved_json);
    ag_buf_cleanup(&b);
}

static void test_slack_text(void)
{
    struct slo_sink_sample s;
    struct slo_alert_event ev;
    struct ag_buf b;
    ASSERT_OK(slo_sink_sample_init(&s));
    ag_buf_init(&b, 1 << 20);
    slo_sink_sample_event(&s, true, &ev);
    ASSERT_OK(ex_slo_webhook_body(&ev, true, &b));
    ASSERT_STREQ(ag_buf_str(&b),
                 "{\"text\":\"FIRING: SLO checkout-availability, alert page (severity page): "
                 "burn rate 14.4 over 1h, 20 over 5m; 20% of the error budget left; status "
                 "WARNING\"}");
    /* A name with a quote and a newline stays one valid JSON string. */
    s.slo.name = "a\"b\nc";
    ag_buf_reset(&b);
    ASSERT_OK(ex_slo_webhook_body(&ev, true, &b));
    ASSERT_STRCONTAINS(ag_buf_str(&b), "{\"text\":\"FIRING: SLO a\\\"b\\nc, alert page");
    /* Slack's three markup characters are escaped, and only those. */
    s.slo.name = "a<b>&c's";
    ag_buf_reset(&b);
    ASSERT_OK(ex_slo_webhook_body(&ev, true, &b));
    ASSERT_STRCONTAINS(ag_buf_str(&b), "{\"text\":\"FIRING: SLO a&lt;b&gt;&amp;c's, alert page");
    /* ... but not in the JSON document. */
    ag_buf_reset(&b);
    ASSERT_OK(ex_slo_webhook_body(&ev, false, &b));
    ASSERT_STRCONTAINS(ag_buf_str(&b), "{\"slo\":\"a<b>&c's\",");
    ag_buf_cleanup(&b);
}

static void test_sns_form(void)
{
    struct slo_sink_sample s;
    struct slo_alert_event ev;
    struct ag_buf b;
    ASSERT_OK(slo_sink_sample_init(&s));
    ag_buf_init(&b, 1 << 20);
    slo_sink_sample_event(&s, false, &ev);
    ASSERT_OK(ex_slo_sns_subject(&ev, &b));
    ASSERT_STREQ(ag_buf_str(&b), "RESOLVED: checkout-availability / page");
    /* Control characters become '?'; at most 100 characters. */
    char longname[200];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    longname[2] = '\n';
    s.slo.name = longname;
    ag_buf_reset(&b);
    ASSERT_OK(ex_slo_sns_subject(&ev, &b));
    ASSERT_UEQ(b.len, 100);
    ASSERT_STRCONTAINS(ag_buf_str(&b), "RESOLVED: xx?xxx");
    /* Form encoding: urllib.parse.quote_plus(v, safe="") gives the same. */
    ag_buf_reset(&b);
    ASSERT_OK(ex_slo_sns_body("arn:aws:sns:us-east-1:123456789012:slo-alerts", "{\"a\":\"b c\"}",
                              "FIRING: x / y", &b));
    ASSERT_STREQ(ag_buf_str(&b),
                 "Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Aslo-alerts"
                 "&Message=%7B%22a%22%3A%22b+c%22%7D&Subject=FIRING%3A+x+%2F+y"
                 "&Version=2010-03-31");
    ag_buf_cleanup(&b);
}

static void test_rfc3339(void)
{
    char buf[40];
    ex_slo_rfc3339(1738317600000ll, buf, sizeof(buf)); /* datetime(2025,1,31,10,tz=utc) */
    ASSERT_STREQ(buf, "2025-01-31T10:00:00Z");
    ex_slo_rfc3339(1738317600123ll, buf, sizeof(buf));
    ASSERT_STREQ(buf, "2025-01-31T10:00:00.123Z");
    ex_slo_rfc3339(-1, buf, sizeof(buf)); /* 1 ms before the epoch */
    ASSERT_STREQ(buf, "1969-12-31T23:59:59.999Z");
}

/* ---- EMF ------------------------------------------------------------------------------------- */

struct emf_seen {
    char ev[8][2048];
    int64_t ts[8];
    size_t n;
};

static int emf_keep(void *arg, int64_t ts, const char *json, size_t len)
{
    struct emf_seen *s = arg;
    if (s->n == 8 || len >= sizeof(s->ev[0])) {
        return AG_ETOOBIG;
    }
    memcpy(s->ev[s->n], json, len);
    s->ev[s->n][len] = '\0';
    s->ts[s->n++] = ts;
    return 0;
}

#define EMF_HEAD(dims, metrics)                                                     \
    "{\"_aws\":{\"Timestamp\":1738317600000,\"CloudWatchMetrics\":[{\"Namespace\":" \
    "\"Otter/SLO\",\"Dimensions\":[[" dims "]],\"Metrics\":[" metrics "]}]},"

static void test_emf_events(void)
{
    struct slo_sink_sample s;
    struct emf_seen seen = {0};
    ASSERT_OK(slo_sink_sample_init(&s));
    struct ex_slo_metric_input in[2] = {{&s.fire, 995, 1000}, {&s.idle, 0, 0}};
    ASSERT_OK(ex_slo_emf_events(NULL, SLO_SINK_SAMPLE_AT_MS, in, 2, emf_keep, &seen));
    /* checkout: the counts and both percentages (attainment 9992/10000 = 99.92 %, budget left
     * 2/10 = 20 %), then one BurnRate event per window with data: 5m = 5 minutes, 1h = 60 (3d
     * has none: no event); idle-slo: the counts only, Service "unknown". */
    ASSERT_UEQ(seen.n, 4);
    ASSERT_STREQ(seen.ev[0], EMF_HEAD("\"SLO\",\"Service\"",
                                      "{\"Name\":\"GoodCount\",\"Unit\":\"Count\"},"
                                      "{\"Name\":\"TotalCount\",\"Unit\":\"Count\"},"
                                      "{\"Name\":\"AttainmentRate\",\"Unit\":\"Percent\"},"
                                      "{\"Name\":\"ErrorBudgetRemaining\",\"Unit\":"
                                      "\"Percent\"}") "\"SLO\":\"checkout-availability\","
                                                      "\"Service\":\"checkout\","
                                                      "\"GoodCount\":995,"
                                                      "\"TotalCount\":1000,"
                                                      "\"AttainmentRate\":99.92,"
                                                      "\"ErrorBudgetRemaining\":20}");
    ASSERT_STREQ(
        seen.ev[1],
        EMF_HEAD("\"SLO\",\"Service\",\"BurnRateWindowMinutes\"",
                 "{\"Name\":\"BurnRate\",\"Unit\":\"None\"}") "\"SLO\":\"checkout-availability\","
                                                              "\"Service\":\"checkout\","
                                                              "\"BurnRateWindowMinutes\":\"5\","
                                                              "\"BurnRate\":20}");
    ASSERT_STREQ(
        seen.ev[2],
        EMF_HEAD("\"SLO\",\"Service\",\"BurnRateWindowMinutes\"",
                 "{\"Name\":\"BurnRate\",\"Unit\":\"None\"}") "\"SLO\":\"checkout-availability\","
                                                              "\"Service\":\"checkout\","
                                                              "\"BurnRateWindowMinutes\":\"60\","
                                                              "\"BurnRate\":14.4}");
    ASSERT_STREQ(
        seen.ev[3],
        EMF_HEAD("\"SLO\",\"Service\"",
                 "{\"Name\":\"GoodCount\",\"Unit\":\"Count\"},"
                 "{\"Name\":\"TotalCount\",\"Unit\":\"Count\"}") "\"SLO\":\"idle-slo\",\"Service\":"
                                                                 "\"unknown\",\"GoodCount\":0,"
                                                                 "\"TotalCount\":0}");
    for (size_t i = 0; i < seen.n; i++) {
        ASSERT(seen.ts[i] == SLO_SINK_SAMPLE_AT_MS);
        ASSERT(strstr(seen.ev[i], "NaN") == NULL && strstr(seen.ev[i], "Infinity") == NULL);
    }
}

static void test_emf_overspent_and_namespace(void)
{
    struct slo_sink_sample s;
    struct emf_seen seen = {0};
    ASSERT_OK(slo_sink_sample_init(&s));
    /* 30 bad against a budget of 10: remaining -20, fraction -20/10 = -2 -> -200 %. */
    s.fire.budget.remaining_fraction = (struct slo_rat){20, 10, true};
    s.fire.n_burns = 0;
    struct ex_slo_metric_input in = {&s.fire, 1, 2};
    ASSERT_OK(ex_slo_emf_events("My/NS", SLO_SINK_SAMPLE_AT_MS, &in, 1, emf_keep, &seen));
    ASSERT_UEQ(seen.n, 1);
    ASSERT_STRCONTAINS(seen.ev[0], "\"Namespace\":\"My/NS\"");
    ASSERT_STRCONTAINS(seen.ev[0], "\"ErrorBudgetRemaining\":-200}");
}

/* ---- retry decisions ------------------------------------------------------------------------- */

static void test_retry_decisions(void)
{
    ASSERT_EQ(ex_slo_webhook_classify(0, 200), EX_SLO_WEBHOOK_DONE);
    ASSERT_EQ(ex_slo_webhook_classify(0, 204), EX_SLO_WEBHOOK_DONE);
    ASSERT_EQ(ex_slo_webhook_classify(0, 429), EX_SLO_WEBHOOK_RETRY);
    ASSERT_EQ(ex_slo_webhook_classify(0, 500), EX_SLO_WEBHOOK_RETRY);
    ASSERT_EQ(ex_slo_webhook_classify(0, 503), EX_SLO_WEBHOOK_RETRY);
    ASSERT_EQ(ex_slo_webhook_classify(0, 599), EX_SLO_WEBHOOK_RETRY);
    ASSERT_EQ(ex_slo_webhook_classify(0, 400), EX_SLO_WEBHOOK_FAIL);
    ASSERT_EQ(ex_slo_webhook_classify(0, 401), EX_SLO_WEBHOOK_FAIL);
    ASSERT_EQ(ex_slo_webhook_classify(0, 404), EX_SLO_WEBHOOK_FAIL);
    ASSERT_EQ(ex_slo_webhook_classify(0, 301), EX_SLO_WEBHOOK_FAIL);
    ASSERT_EQ(ex_slo_webhook_classify(AG_EIO, 0), EX_SLO_WEBHOOK_RETRY);
    ASSERT_EQ(ex_slo_webhook_classify(AG_ETIMEDOUT, 0), EX_SLO_WEBHOOK_RETRY);
    ASSERT_EQ(ex_slo_webhook_classify(AG_EAGAIN, 0), EX_SLO_WEBHOOK_FAIL);
    ASSERT_EQ(ex_slo_webhook_classify(AG_ETOOBIG, 0), EX_SLO_WEBHOOK_FAIL);

    /* Full jitter under a ceiling of 250 ms x 2^(retry-1), at most 30 s. */
    ASSERT_UEQ(ex_slo_webhook_backoff_ms(1, 0.5, 0), 125);  /* 0.5 x 250 */
    ASSERT_UEQ(ex_slo_webhook_backoff_ms(2, 0.5, 0), 250);  /* 0.5 x 500 */
    ASSERT_UEQ(ex_slo_webhook_backoff_ms(3, 0.25, 0), 250); /* 0.25 x 1000 */
    ASSERT_UEQ(ex_slo_webhook_backoff_ms(1, 0.0, 0), 0);
    /* 250 x 2^7 = 32000 > 30000: capped; 0.5 x 30000. */
    ASSERT_UEQ(ex_slo_webhook_backoff_ms(8, 0.5, 0), 15000);
    ASSERT_UEQ(ex_slo_webhook_backoff_ms(1000, 0.5, 0), 15000);
    /* Retry-After wins when longer, up to 300 s; a shorter one does not shorten the wait. */
    ASSERT_UEQ(ex_slo_webhook_backoff_ms(1, 0.5, 2000), 2000);
    ASSERT_UEQ(ex_slo_webhook_backoff_ms(8, 0.5, 1000), 15000);
    ASSERT_UEQ(ex_slo_webhook_backoff_ms(1, 0.5, 3600000), 300000);
    /* Nonsense randomness never gives a wait past the ceiling. */
    ASSERT_UEQ(ex_slo_webhook_backoff_ms(1, NAN, 0), 0);
    ASSERT_UEQ(ex_slo_webhook_backoff_ms(1, 1.5, 0), 0);
}

/* ---- the webhook sink on a loop -------------------------------------------------------------- */

static double counter(const char *name, const char *sink)
{
    struct ag_buf b;
    char pat[160];
    double v = 0;
    ag_buf_init(&b, 1 << 20);
    snprintf(pat, sizeof(pat), "%s{sink=\"%s\"} ", name, sink);
    if (ag_metrics_render(&b) == 0) {
        const char *p = strstr(ag_buf_str(&b), pat);
        if (p != NULL) {
            v = strtod(p + strlen(pat), NULL);
        }
    }
    ag_buf_cleanup(&b);
    return v;
}

static bool run_until_idle(struct event_base *base, struct ex_slo_sinks *s, double timeout_s)
{
    double end = ts_now_s() + timeout_s;
    while (!ex_slo_sinks_idle(s) && ts_now_s() < end) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return ex_slo_sinks_idle(s);
}

static void webhook_config(struct ag_slo_config *cfg, const char *url, char **kv)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->alert_log = 1;
    cfg->webhook.endpoint = (char *)url;
    cfg->webhook.max_retries = 3;
    cfg->webhook.timeout = 2000000000ull; /* 2 s */
    cfg->webhook.headers.kv = kv;
    cfg->webhook.headers.n = 1;
}

/* The stage of the webhook tests below: a loop, a test server on it, the sample alert and a
 * webhook config that posts to the server with the one header |kv|. */
struct wh_stage {
    struct event_base *base;
    struct ts_server srv;
    struct slo_sink_sample smp;
    struct ag_slo_config cfg;
    struct ex_slo_sinks *s;
};

/* Sets up |w| (w->s stays NULL: the test makes the sinks). Returns 0, or -1. */
static int wh_start(struct wh_stage *w, char **kv)
{
    w->s = NULL;
    w->base = event_base_new();
    if (w->base == NULL || ts_start(&w->srv, w->base) != 0 ||
        slo_sink_sample_init(&w->smp) != 0) {
        return -1;
    }
    webhook_config(&w->cfg, w->srv.url, kv);
    return 0;
}

static void wh_stop(struct wh_stage *w)
{
    ex_slo_sinks_free(w->s);
    ts_stop(&w->srv);
    event_base_free(w->base);
}

/* Hands the sinks the sample alert's firing notification, then its resolved one. */
static void wh_fire_then_resolve(struct wh_stage *w)
{
    struct slo_alert_event ev;
    slo_sink_sample_event(&w->smp, true, &ev);
    ex_slo_sinks_alert(w->s, &ev);
    slo_sink_sample_event(&w->smp, false, &ev);
    ex_slo_sinks_alert(w->s, &ev);
}

static void test_webhook_retries_in_order(void)
{
    struct wh_stage w;
    char err[256] = "";
    char *kv[2] = {"Authorization", "Bearer t0ken"};
    ASSERT_OK(wh_start(&w, kv));
    ts_push(&w.srv, (struct ts_answer){.status = 503});
    ts_push(&w.srv, (struct ts_answer){.status = 503});
    ts_push(&w.srv, (struct ts_answer){.status = 200});
    ts_push(&w.srv, (struct ts_answer){.status = 204});
    double sent0 = counter("otter_slo_sink_sent_total", "webhook");
    double retries0 = counter("otter_slo_sink_retries_total", "webhook");
    ASSERT_OK(ex_slo_sinks_new(w.base, &w.cfg, &w.s, err, sizeof(err)));
    wh_fire_then_resolve(&w);
    ASSERT(!ex_slo_sinks_idle(w.s));
    ASSERT(run_until_idle(w.base, w.s, 10));
    /* The resolved notification waited behind the firing one's two retries. */
    ASSERT_EQ(w.srv.n_seen, 4);
    ASSERT_STREQ(w.srv.seen[0].body, fire_json);
    ASSERT_STREQ(w.srv.seen[1].body, fire_json);
    ASSERT_STREQ(w.srv.seen[2].body, fire_json);
    ASSERT_STREQ(w.srv.seen[3].body, resolved_json);
    char hv[128];
    ASSERT_STREQ(ts_header(&w.srv.seen[0], "Authorization", hv, sizeof(hv)), "Bearer t0ken");
    ASSERT_STREQ(ts_header(&w.srv.seen[0], "Content-Type", hv, sizeof(hv)), "application/json");
    ASSERT_STREQ(w.srv.seen[0].method, "POST");
    ASSERT(counter("otter_slo_sink_sent_total", "webhook") == sent0 + 2);
    ASSERT(counter("otter_slo_sink_retries_total", "webhook") == retries0 + 2);
    wh_stop(&w);
}

static void test_webhook_400_not_retried(void)
{
    struct wh_stage w;
    char err[256] = "";
    char *kv[2] = {"X-Team", "sre"};
    ASSERT_OK(wh_start(&w, kv));
    w.cfg.webhook.slack = 1;
    ts_push(&w.srv, (struct ts_answer){.status = 400});
    ts_push(&w.srv, (struct ts_answer){.status = 200});
    double failed0 = counter("otter_slo_sink_failed_total", "webhook");
    double sent0 = counter("otter_slo_sink_sent_total", "webhook");
    ASSERT_OK(ex_slo_sinks_new(w.base, &w.cfg, &w.s, err, sizeof(err)));
    wh_fire_then_resolve(&w);
    ASSERT(run_until_idle(w.base, w.s, 10));
    ASSERT_EQ(w.srv.n_seen, 2); /* the 400 once, then the resolved one */
    ASSERT_STRCONTAINS(w.srv.seen[0].body, "{\"text\":\"FIRING: SLO checkout-availability");
    ASSERT_STRCONTAINS(w.srv.seen[1].body, "{\"text\":\"RESOLVED: SLO checkout-availability");
    ASSERT(counter("otter_slo_sink_failed_total", "webhook") == failed0 + 1);
    ASSERT(counter("otter_slo_sink_sent_total", "webhook") == sent0 + 1);
    wh_stop(&w);
}

/* Another alert's notification is not held behind one being retried: with answers 503, 200, 200
 * in arrival order, the one that got the 503 comes back third (a single queue in order would give
 * A, A, B). */
static void test_webhook_alerts_independent(void)
{
    struct wh_stage w;
    struct slo_alert_event a, b;
    char err[256] = "";
    char *kv[2] = {"X-Team", "sre"};
    ASSERT_OK(wh_start(&w, kv));
    struct slo_alert_def ticket = w.smp.alert;
    ticket.name = "ticket";
    ticket.severity = "ticket";
    ts_push(&w.srv, (struct ts_answer){.status = 503});
    ts_push(&w.srv, (struct ts_answer){.status = 200});
    ts_push(&w.srv, (struct ts_answer){.status = 200});
    ASSERT_OK(ex_slo_sinks_new(w.base, &w.cfg, &w.s, err, sizeof(err)));
    slo_sink_sample_event(&w.smp, true, &a);
    slo_sink_sample_event(&w.smp, true, &b);
    b.alert = &ticket;
    ex_slo_sinks_alert(w.s, &a);
    ex_slo_sinks_alert(w.s, &b);
    ASSERT(run_until_idle(w.base, w.s, 10));
    ASSERT_EQ(w.srv.n_seen, 3);
    ASSERT_STREQ(w.srv.seen[2].body, w.srv.seen[0].body);
    ASSERT(strcmp(w.srv.seen[1].body, w.srv.seen[0].body) != 0);
    ASSERT(strstr(w.srv.seen[0].body, "\"alert\":\"page\"") != NULL ||
           strstr(w.srv.seen[0].body, "\"alert\":\"ticket\"") != NULL);
    wh_stop(&w);
}

/* 429 with Retry-After: 1 (second): the retry waits for it, although the jitter alone would wait at
 * most 250 ms before the first retry. */
static void test_webhook_retry_after(void)
{
    struct wh_stage w;
    struct slo_alert_event ev;
    char err[256] = "";
    char *kv[2] = {"X-Team", "sre"};
    ASSERT_OK(wh_start(&w, kv));
    ts_push(&w.srv, (struct ts_answer){.status = 429, .headers = {{"Retry-After", "1"}}});
    ts_push(&w.srv, (struct ts_answer){.status = 200});
    ASSERT_OK(ex_slo_sinks_new(w.base, &w.cfg, &w.s, err, sizeof(err)));
    slo_sink_sample_event(&w.smp, true, &ev);
    ex_slo_sinks_alert(w.s, &ev);
    ASSERT(run_until_idle(w.base, w.s, 10));
    ASSERT_EQ(w.srv.n_seen, 2);
    ASSERT(w.srv.seen[1].at_s - w.srv.seen[0].at_s >= 0.95);
    wh_stop(&w);
}

/* A dead port: connection refused is retried max_retries times, then counted failed. */
static void test_webhook_connection_refused(void)
{
    struct event_base *base = event_base_new();
    struct slo_sink_sample smp;
    struct slo_alert_event ev;
    struct ag_slo_config cfg;
    struct ex_slo_sinks *s = NULL;
    char err[256] = "", url[64];
    char *kv[2] = {"X-Team", "sre"};
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/hook", (unsigned)ts_dead_port());
    ASSERT_OK(slo_sink_sample_init(&smp));
    webhook_config(&cfg, url, kv);
    cfg.webhook.max_retries = 2;
    double failed0 = counter("otter_slo_sink_failed_total", "webhook");
    double retries0 = counter("otter_slo_sink_retries_total", "webhook");
    ASSERT_OK(ex_slo_sinks_new(base, &cfg, &s, err, sizeof(err)));
    slo_sink_sample_event(&smp, true, &ev);
    ex_slo_sinks_alert(s, &ev);
    ASSERT(run_until_idle(base, s, 10));
    ASSERT(counter("otter_slo_sink_failed_total", "webhook") == failed0 + 1);
    ASSERT(counter("otter_slo_sink_retries_total", "webhook") == retries0 + 2);
    ex_slo_sinks_free(s);
    event_base_free(base);
}

static void test_config_errors(void)
{
    struct event_base *base = event_base_new();
    struct ag_slo_config cfg;
    struct ex_slo_sinks *s = NULL;
    char err[256];
    char *bad[2] = {"Bad Name", "secret-value"};
    char *crlf[2] = {"X-Token", "a\r\nInjected: 1"};
    webhook_config(&cfg, "ftp://example.invalid/", bad);
    ASSERT_EQ(ex_slo_sinks_new(base, &cfg, &s, err, sizeof(err)), AG_EINVAL);
    ASSERT_STRCONTAINS(err, "alerts.webhook.endpoint");
    webhook_config(&cfg, "http://127.0.0.1:9/", bad);
    ASSERT_EQ(ex_slo_sinks_new(base, &cfg, &s, err, sizeof(err)), AG_EINVAL);
    ASSERT_STRCONTAINS(err, "alerts.webhook.headers: header 1 (Bad Name)");
    webhook_config(&cfg, "http://127.0.0.1:9/", crlf);
    ASSERT_EQ(ex_slo_sinks_new(base, &cfg, &s, err, sizeof(err)), AG_EINVAL);
    ASSERT(strstr(err, "Injected") == NULL); /* values never echoed */
    memset(&cfg, 0, sizeof(cfg));
    cfg.sns.topic_arn = "my-topic";
    ASSERT_EQ(ex_slo_sinks_new(base, &cfg, &s, err, sizeof(err)), AG_EINVAL);
    ASSERT_STRCONTAINS(err, "alerts.sns.topic_arn");
    memset(&cfg, 0, sizeof(cfg));
    cfg.metrics.destination = 1;
    cfg.metrics.log_group_name = "bad group!";
    ASSERT_EQ(ex_slo_sinks_new(base, &cfg, &s, err, sizeof(err)), AG_EINVAL);
    ASSERT_STRCONTAINS(err, "metrics.log_group_name");
    ASSERT_NULL(s);
    /* Nothing configured: a valid no-op set of sinks. */
    memset(&cfg, 0, sizeof(cfg));
    ASSERT_OK(ex_slo_sinks_new(base, &cfg, &s, err, sizeof(err)));
    ASSERT(ex_slo_sinks_idle(s));
    ASSERT_OK(ex_slo_sinks_metrics(s, 0, NULL, 0));
    ex_slo_sinks_free(s);
    event_base_free(base);
}

/* With -Dfailmalloc=true: fail each of our allocations in turn, through the documents and a
 * webhook delivery; every path reports AG_ENOMEM or counts the loss, and nothing leaks (the
 * sanitizer build checks). curl's own allocations are not ours to fail. */
static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    struct event_base *base = event_base_new();
    struct ts_server srv;
    struct slo_sink_sample smp;
    struct slo_alert_event fire, res;
    char *kv[2] = {"X-Team", "sre"};
    ASSERT_OK(ts_start(&srv, base));
    ASSERT_OK(slo_sink_sample_init(&smp));
    slo_sink_sample_event(&smp, true, &fire);
    slo_sink_sample_event(&smp, false, &res);
    int ok = 0;
    for (long n = 0; n < 1000 && ok < 3; n++) {
        struct ag_slo_config cfg;
        struct ex_slo_sinks *s = NULL;
        struct emf_seen seen = {0};
        struct ag_buf b;
        char err[256];
        webhook_config(&cfg, srv.url, kv);
        ag_buf_init(&b, 1 << 20);
        int before = srv.requests;
        ag_mem_fail_after(n);
        int rc1 = ex_slo_webhook_body(&fire, false, &b);
        int rc2 = ex_slo_emf_events(NULL, 0, &(struct ex_slo_metric_input){&smp.fire, 1, 2}, 1,
                                    emf_keep, &seen);
        int rc3 = ex_slo_sinks_new(base, &cfg, &s, err, sizeof(err));
        if (rc3 == 0) {
            ex_slo_sinks_alert(s, &fire);
            ex_slo_sinks_alert(s, &res);
        }
        ag_mem_fail_after(-1);
        ag_buf_cleanup(&b);
        ASSERT(rc1 == 0 || rc1 == AG_ENOMEM);
        ASSERT(rc2 == 0 || rc2 == AG_ENOMEM);
        ASSERT(rc3 == 0 || rc3 == AG_ENOMEM);
        if (rc3 == 0) {
            ASSERT(run_until_idle(base, s, 10));
            ex_slo_sinks_free(s);
        } else {
            ASSERT_NULL(s);
        }
        if (rc1 == 0 && rc2 == 0 && rc3 == 0 && srv.requests == before + 2) {
            ok++;
        }
    }
    ASSERT(ok > 0);
    ts_stop(&srv);
    event_base_free(base);
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

AG_TEST_MAIN(AG_TEST_CASE(test_webhook_json), AG_TEST_CASE(test_slack_text),
             AG_TEST_CASE(test_sns_form), AG_TEST_CASE(test_rfc3339), AG_TEST_CASE(test_emf_events),
             AG_TEST_CASE(test_emf_overspent_and_namespace), AG_TEST_CASE(test_retry_decisions),
             AG_TEST_CASE(test_webhook_retries_in_order),
             AG_TEST_CASE(test_webhook_400_not_retried),
             AG_TEST_CASE(test_webhook_alerts_independent), AG_TEST_CASE(test_webhook_retry_after),
             AG_TEST_CASE(test_webhook_connection_refused), AG_TEST_CASE(test_config_errors),
             AG_TEST_CASE(test_failmalloc))
