/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The slo exporter's sinks (ex_slo_sink.h): alert changes to the log, a webhook (ex_aws_http, no
 * signing, retried here) and SNS Publish (ex_aws_client, the standard retries), each through a
 * bounded queue that keeps every alert's notifications in order; and the EMF SLO metrics to
 * CloudWatch Logs (ex_cw_pusher) or stdout. The documents themselves come from ex_slo_sink_fmt.c.
 */
#include "ex_slo_sink.h"
#include "ag_buf.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_time.h"
#include "ex_aws_client.h"
#include "ex_aws_http.h"
#include "ex_aws_session.h"
#include "ex_cw_pusher.h"
#include "ex_slo_sink_int.h"
#include "slo_cw.h"

#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define WHO                 "exporter/slo"
#define PUSHER_ID           "slo"
#define DEFAULT_LOG_GROUP   "/otter/slo"
#define METRICS_QUEUE_BYTES (16u * 1024 * 1024)
#define DRAIN_TIMEOUT_MS    5000u

struct ex_slo_sinks;
struct nq;

/* One notification waiting, being sent, or waiting for its next attempt. */
struct note {
    struct note *next;
    struct nq *q;
    char *key;   /* "<strlen(slo)>:<slo><alert>": notifications of one key leave in order */
    char *label; /* "slo=<slo> alert=<alert> state=<state>", for the log */
    uint8_t *body;
    size_t len;
    unsigned retries;    /* webhook: retries made so far */
    bool active;         /* an attempt is in flight, or the wait before the next one */
    struct event *timer; /* webhook backoff */
};

/* A sink's queue: arrival order, bounded, at most EX_SLO_SINK_IN_FLIGHT_MAX active. */
struct nq {
    struct ex_slo_sinks *s;
    const char *name; /* "webhook", "sns" */
    struct note *head, *tail;
    size_t n, active;
    int (*start)(struct note *n);
    struct ag_metric *m_sent, *m_failed, *m_dropped, *m_retries;
};

/* One EMF event of the emission being queued: |len| bytes at |off| in msgs. */
struct pend {
    size_t off, len;
    int64_t ts;
};

struct ex_slo_sinks {
    struct event_base *base;
    const struct ag_slo_config *cfg;
    bool closing;
    uint64_t rng;
    struct ag_metric *m_log_sent;
    /* webhook */
    struct ex_aws_http *http;
    struct nq wq;
    struct ex_aws_header *wh_headers; /* the config's extra headers + Content-Type */
    size_t n_wh;
    uint64_t wh_timeout_ms;
    /* SNS */
    struct ex_aws_session sns;
    struct nq sq;
    /* metrics */
    int dest; /* 0 none, 1 cloudwatch, 2 stdout */
    const char *ns;
    char *group, *stream;
    struct ex_aws_session logs;
    struct ex_cw_pusher *pusher;
    struct ag_buf msgs;
    struct pend *pend;
    size_t n_pend, cap_pend;
    struct ag_metric *m_met_sent, *m_met_failed, *m_met_dropped;
};

/* xorshift64*: jitter needs cheap independent randomness, not cryptography. In [0, 1). */
static double rand01(struct ex_slo_sinks *s)
{
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

static struct ag_metric *sink_counter(const char *what, const char *help, const char *sink)
{
    char name[64], labels[48];
    snprintf(name, sizeof(name), "otter_slo_sink_%s_total", what);
    snprintf(labels, sizeof(labels), "sink=\"%s\"", sink);
    return ag_metrics_counter(name, help, labels);
}

static const char help_sent[] = "SLO notifications (or EMF SLO metric events) a sink delivered.";
static const char help_failed[] = "SLO notifications (or EMF events) a sink gave up on.";
static const char help_dropped[] = "SLO notifications (or EMF events) refused by a full queue.";
static const char help_retries[] = "Webhook attempts after the first.";

/* ---- the queues ------------------------------------------------------------------------------ */

static void note_free(struct note *n)
{
    if (n == NULL) {
        return;
    }
    if (n->timer != NULL) {
        event_free(n->timer);
    }
    ag_free(n->key);
    ag_free(n->label);
    ag_free(n->body);
    ag_free(n);
}

static void nq_unlink(struct nq *q, struct note *n)
{
    struct note **pp = &q->head;
    struct note *prev = NULL;
    while (*pp != NULL && *pp != n) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL) {
        return;
    }
    *pp = n->next;
    if (q->tail == n) {
        q->tail = prev;
    }
    q->n--;
    if (n->active) {
        q->active--;
    }
}

/* Whether a notification of the same alert arrived before |n| and is not finished. */
static bool blocked(const struct nq *q, const struct note *n)
{
    for (const struct note *p = q->head; p != NULL && p != n; p = p->next) {
        if (strcmp(p->key, n->key) == 0) {
            return true;
        }
    }
    return false;
}

static void nq_finish(struct note *n, bool ok);

/* Starts what may start: in arrival order, skipping alerts with an earlier one unfinished. */
static void nq_dispatch(struct nq *q)
{
again:
    if (q->s->closing) {
        return;
    }
    for (struct note *n = q->head; n != NULL && q->active < EX_SLO_SINK_IN_FLIGHT_MAX;
         n = n->next) {
        if (n->active || blocked(q, n)) {
            continue;
        }
        n->active = true;
        q->active++;
        if (q->start(n) != 0) {
            nq_finish(n, false); /* logged by start */
            goto again;
        }
    }
}

/* |n| is delivered (|ok|) or given up: counted, freed, and the next ones may leave. */
static void nq_finish(struct note *n, bool ok)
{
    struct nq *q = n->q;
    ag_metric_add(ok ? q->m_sent : q->m_failed, 1);
    nq_unlink(q, n);
    note_free(n);
    nq_dispatch(q);
}

/* Queues a notification of |ev| with |body| (taken). */
static void nq_push(struct nq *q, const struct slo_alert_event *ev, uint8_t *body, size_t len)
{
    const char *slo = ev->slo != NULL ? ev->slo->name : "?";
    const char *alert = ev->alert != NULL ? ev->alert->name : "?";
    const char *state = ev->firing ? "firing" : "resolved";
    if (q->n >= EX_SLO_SINK_QUEUE_MAX) {
        ag_metric_add(q->m_dropped, 1);
        ag_log_warn(WHO, "%s queue full (%u notifications): dropped slo=%s alert=%s state=%s",
                    q->name, EX_SLO_SINK_QUEUE_MAX, slo, alert, state);
        ag_free(body);
        return;
    }
    struct note *n = ag_calloc(1, sizeof(*n));
    struct ag_buf k, l;
    ag_buf_init(&k, 4096);
    ag_buf_init(&l, 4096);
    if (n == NULL || ag_buf_printf(&k, "%zu:%s%s", strlen(slo), slo, alert) != 0 ||
        ag_buf_printf(&l, "slo=%s alert=%s state=%s", slo, alert, state) != 0) {
        ag_buf_cleanup(&k);
        ag_buf_cleanup(&l);
        ag_free(n);
        ag_free(body);
        ag_metric_add(q->m_failed, 1);
        ag_log_error(WHO, "%s: out of memory: notification slo=%s alert=%s state=%s lost", q->name,
                     slo, alert, state);
        return;
    }
    size_t kl, ll;
    n->key = (char *)ag_buf_steal(&k, &kl);
    n->label = (char *)ag_buf_steal(&l, &ll);
    if (n->key == NULL || n->label == NULL) {
        n->body = body;
        note_free(n);
        ag_metric_add(q->m_failed, 1);
        ag_log_error(WHO, "%s: out of memory: notification slo=%s alert=%s state=%s lost", q->name,
                     slo, alert, state);
        return;
    }
    n->q = q;
    n->body = body;
    n->len = len;
    if (q->tail != NULL) {
        q->tail->next = n;
    } else {
        q->head = n;
    }
    q->tail = n;
    q->n++;
    nq_dispatch(q);
}

/* Fails everything still queued or waiting (at shutdown). */
static void nq_fail_all(struct nq *q)
{
    while (q->head != NULL) {
        struct note *n = q->head;
        ag_log_warn(WHO, "%s: notification %s not delivered before shutdown", q->name, n->label);
        ag_metric_add(q->m_failed, 1);
        nq_unlink(q, n);
        note_free(n);
    }
}

static void nq_init(struct nq *q, struct ex_slo_sinks *s, const char *name,
                    int (*start)(struct note *n))
{
    q->s = s;
    q->name = name;
    q->start = start;
    q->m_sent = sink_counter("sent", help_sent, name);
    q->m_failed = sink_counter("failed", help_failed, name);
    q->m_dropped = sink_counter("dropped", help_dropped, name);
}

/* ---- webhook --------------------------------------------------------------------------------- */

static void webhook_done(void *arg, const struct ex_aws_http_response *resp);

static int webhook_attempt(struct note *n)
{
    struct ex_slo_sinks *s = n->q->s;
    struct ex_aws_http_request req = {
        .method = "POST",
        .url = s->cfg->webhook.endpoint,
        .headers = s->wh_headers,
        .n_headers = s->n_wh,
        .body = n->body,
        .body_len = n->len,
        .timeout_ms = s->wh_timeout_ms,
    };
    int rc = ex_aws_http_send(s->http, &req, webhook_done, n);
    if (rc != 0) {
        /* The URL is not logged: Slack-style webhook URLs carry their secret in the path. */
        ag_log_warn(WHO, "webhook notification %s not sent: %s", n->label, ag_strerror(rc));
    }
    return rc;
}

static void webhook_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct note *n = arg;
    if (webhook_attempt(n) != 0) {
        nq_finish(n, false);
    }
}

static void webhook_done(void *arg, const struct ex_aws_http_response *resp)
{
    struct note *n = arg;
    struct ex_slo_sinks *s = n->q->s;
    enum ex_slo_webhook_outcome o = ex_slo_webhook_classify(resp->rc, resp->status);
    if (o == EX_SLO_WEBHOOK_DONE) {
        ag_log_debug(WHO, "webhook notification %s delivered (HTTP %d, %u retries)", n->label,
                     resp->status, n->retries);
        nq_finish(n, true);
        return;
    }
    char what[160];
    if (resp->rc != 0) {
        snprintf(what, sizeof(what), "%s (%s)", ag_strerror(resp->rc),
                 resp->transport_error != NULL ? resp->transport_error : "");
    } else {
        snprintf(what, sizeof(what), "HTTP %d", resp->status);
    }
    if (o == EX_SLO_WEBHOOK_RETRY && !s->closing && n->retries < s->cfg->webhook.max_retries) {
        n->retries++;
        uint64_t wait = ex_slo_webhook_backoff_ms(n->retries, rand01(s), resp->retry_after_ms);
        ag_metric_add(n->q->m_retries, 1);
        if (n->timer == NULL) {
            n->timer = evtimer_new(s->base, webhook_timer, n);
        }
        struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000)};
        if (n->timer != NULL && evtimer_add(n->timer, &tv) == 0) {
            ag_log_info(WHO, "webhook notification %s: %s, retry %u of %u in %llu ms", n->label,
                        what, n->retries, s->cfg->webhook.max_retries, (unsigned long long)wait);
            return;
        }
    }
    ag_log_warn(WHO, "webhook notification %s failed after %u attempt(s): %s", n->label,
                n->retries + 1, what);
    nq_finish(n, false);
}

static bool header_ok(const char *name, const char *value)
{
    if (name == NULL || name[0] == '\0' || value == NULL) {
        return false;
    }
    for (const char *p = name; *p != '\0'; p++) {
        if (*p <= ' ' || *p == ':' || *p == 0x7f) {
            return false;
        }
    }
    return strpbrk(value, "\r\n") == NULL;
}

static int webhook_setup(struct ex_slo_sinks *s, char *err, size_t errlen)
{
    const struct ag_slo_webhook_config *w = &s->cfg->webhook;
    if (strncmp(w->endpoint, "http://", 7) != 0 && strncmp(w->endpoint, "https://", 8) != 0) {
        snprintf(err, errlen, "alerts.webhook.endpoint: expected an http:// or https:// URL");
        return AG_EINVAL;
    }
    if (w->headers.n + 1 > EX_AWS_HTTP_MAX_HEADERS) {
        snprintf(err, errlen, "alerts.webhook.headers: %zu headers, at most %d", w->headers.n,
                 EX_AWS_HTTP_MAX_HEADERS - 1);
        return AG_EINVAL;
    }
    s->wh_headers = ag_calloc(w->headers.n + 1, sizeof(*s->wh_headers));
    if (s->wh_headers == NULL) {
        return AG_ENOMEM;
    }
    bool has_ct = false;
    for (size_t i = 0; i < w->headers.n; i++) {
        const char *name = w->headers.kv[2 * i], *value = w->headers.kv[2 * i + 1];
        if (!header_ok(name, value)) {
            /* The value is never echoed: it may hold a token. */
            snprintf(err, errlen,
                     "alerts.webhook.headers: header %zu (%.64s): expected a token "
                     "name and a value without line breaks",
                     i + 1, name != NULL ? name : "");
            return AG_EINVAL;
        }
        has_ct |= strcasecmp(name, "Content-Type") == 0;
        s->wh_headers[s->n_wh++] = (struct ex_aws_header){name, value};
    }
    if (!has_ct) {
        s->wh_headers[s->n_wh++] = (struct ex_aws_header){"Content-Type", "application/json"};
    }
    s->wh_timeout_ms = w->timeout != 0 ? w->timeout / 1000000u : EX_SLO_WEBHOOK_TIMEOUT_MS;
    if (s->wh_timeout_ms == 0) {
        s->wh_timeout_ms = 1;
    }
    int rc = ex_aws_http_new(s->base, NULL, &s->http);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the webhook's HTTP client: %s", ag_strerror(rc));
        return rc;
    }
    nq_init(&s->wq, s, "webhook", webhook_attempt);
    s->wq.m_retries = sink_counter("retries", help_retries, "webhook");
    return 0;
}

/* ---- SNS ------------------------------------------------------------------------------------- */

static void sns_done(void *arg, const struct ex_aws_result *res)
{
    struct note *n = arg;
    if (res->rc == 0) {
        ag_log_debug(WHO, "SNS notification %s published (%u attempt(s))", n->label, res->attempts);
        nq_finish(n, true);
        return;
    }
    ag_log_warn(WHO, "SNS notification %s failed after %u attempt(s): %s (HTTP %d) %s%s%s",
                n->label, res->attempts, ag_strerror(res->rc), res->status, res->error.code,
                res->error.message[0] != '\0' ? ": " : "", res->error.message);
    nq_finish(n, false);
}

static int sns_attempt(struct note *n)
{
    struct ex_slo_sinks *s = n->q->s;
    struct ex_aws_call call = {
        .method = "POST",
        .path = "/",
        .content_type = "application/x-www-form-urlencoded; charset=utf-8",
        .body = n->body,
        .body_len = n->len,
    };
    int rc = ex_aws_client_call(s->sns.client, &call, sns_done, n);
    if (rc != 0) {
        ag_log_warn(WHO, "SNS notification %s not sent: %s", n->label, ag_strerror(rc));
    }
    return rc;
}

/* ---- metrics --------------------------------------------------------------------------------- */

static int client_send(void *ctx, const struct ex_aws_call *call, ex_aws_call_fn *done, void *arg)
{
    return ex_aws_client_call(ctx, call, done, arg);
}

static int metrics_setup(struct ex_slo_sinks *s, char *err, size_t errlen)
{
    const struct ag_slo_metrics_config *m = &s->cfg->metrics;
    s->dest = m->destination;
    s->ns = m->namespace_ != NULL && m->namespace_[0] != '\0' ? m->namespace_ : SLO_CW_NAMESPACE;
    if (strlen(s->ns) > 1024) {
        snprintf(err, errlen, "metrics.namespace: longer than 1024 characters");
        return AG_EINVAL;
    }
    s->m_met_sent = sink_counter("sent", help_sent, "metrics");
    s->m_met_failed = sink_counter("failed", help_failed, "metrics");
    s->m_met_dropped = sink_counter("dropped", help_dropped, "metrics");
    if (s->dest != 1) {
        if (s->dest != 0 && s->dest != 2) {
            snprintf(err, errlen,
                     "metrics.output_destination: expected none, cloudwatch or "
                     "stdout");
            return AG_EINVAL;
        }
        return 0;
    }
    const char *group = m->log_group_name != NULL ? m->log_group_name : DEFAULT_LOG_GROUP;
    char host[256] = "";
    char stream_def[300];
    const char *stream = m->log_stream_name;
    if (stream == NULL) {
        if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
            snprintf(host, sizeof(host), "unknown");
        }
        snprintf(stream_def, sizeof(stream_def), "otterd-%s", host);
        stream = stream_def;
    }
    if (!ex_cw_group_name_valid(group)) {
        snprintf(err, errlen,
                 "metrics.log_group_name: expected 1-512 characters of "
                 "[.-_/#A-Za-z0-9]");
        return AG_EINVAL;
    }
    if (!ex_cw_stream_name_valid(stream)) {
        snprintf(err, errlen,
                 "metrics.log_stream_name: expected 1-512 characters without ':' "
                 "or '*'");
        return AG_EINVAL;
    }
    s->group = ag_strdup(group);
    s->stream = ag_strdup(stream);
    if (s->group == NULL || s->stream == NULL) {
        return AG_ENOMEM;
    }
    int rc = ex_aws_session_init(&s->logs, s->base, &m->aws, &ex_aws_service_logs, err, errlen);
    if (rc != 0) {
        return rc;
    }
    struct ex_cw_pusher_options popts = {
        .id = PUSHER_ID,
        .max_bytes = METRICS_QUEUE_BYTES,
        .drain_timeout_ms = DRAIN_TIMEOUT_MS,
        .logs_format = "json/emf",
    };
    struct ex_cw_sender sender = {client_send, s->logs.client};
    rc = ex_cw_pusher_new(s->base, &popts, &sender, &s->pusher);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the CloudWatch Logs pusher: %s", ag_strerror(rc));
    }
    return rc;
}

static int emit_stdout(void *arg, int64_t ts, const char *json, size_t len)
{
    struct ex_slo_sinks *s = arg;
    (void)ts;
    if (fwrite(json, 1, len, stdout) != len || fputc('\n', stdout) == EOF) {
        ag_metric_add(s->m_met_failed, 1);
        return AG_EIO;
    }
    ag_metric_add(s->m_met_sent, 1);
    return 0;
}

static int emit_collect(void *arg, int64_t ts, const char *json, size_t len)
{
    struct ex_slo_sinks *s = arg;
    if (s->n_pend == s->cap_pend) {
        size_t ncap = s->cap_pend ? 2 * s->cap_pend : 16;
        struct pend *p = ag_realloc(s->pend, ncap * sizeof(*p));
        if (p == NULL) {
            return AG_ENOMEM;
        }
        s->pend = p;
        s->cap_pend = ncap;
    }
    size_t off = s->msgs.len;
    int rc = ag_buf_add(&s->msgs, json, len);
    if (rc != 0) {
        return rc;
    }
    s->pend[s->n_pend++] = (struct pend){off, len, ts};
    return 0;
}

int ex_slo_sinks_metrics(struct ex_slo_sinks *s, int64_t now_ms,
                         const struct ex_slo_metric_input *in, size_t n)
{
    if (s == NULL || s->dest == 0 || n == 0) {
        return 0;
    }
    if (s->dest == 2) {
        int rc = ex_slo_emf_events(s->ns, now_ms, in, n, emit_stdout, s);
        fflush(stdout);
        if (rc != 0) {
            ag_log_warn(WHO, "EMF SLO metrics to stdout: %s", ag_strerror(rc));
        }
        return rc == AG_ENOMEM ? AG_ENOMEM : 0;
    }
    ag_buf_reset(&s->msgs);
    s->n_pend = 0;
    int rc = ex_slo_emf_events(s->ns, now_ms, in, n, emit_collect, s);
    if (rc != 0) {
        ag_metric_add(s->m_met_failed, s->n_pend);
        ag_log_warn(WHO, "EMF SLO metrics of %zu SLOs not built: %s", n, ag_strerror(rc));
        return rc == AG_ENOMEM ? AG_ENOMEM : 0;
    }
    struct ex_cw_event *evs = ag_calloc(s->n_pend ? s->n_pend : 1, sizeof(*evs));
    if (evs == NULL) {
        ag_metric_add(s->m_met_failed, s->n_pend);
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < s->n_pend; i++) {
        evs[i] = (struct ex_cw_event){.group = s->group,
                                      .stream = s->stream,
                                      .timestamp_ms = s->pend[i].ts,
                                      .message = ag_buf_str(&s->msgs) + s->pend[i].off,
                                      .len = s->pend[i].len};
    }
    rc = ex_cw_pusher_push(s->pusher, evs, s->n_pend);
    ag_free(evs);
    if (rc == AG_EAGAIN) {
        ag_metric_add(s->m_met_dropped, s->n_pend);
        ag_log_warn(WHO, "CloudWatch Logs queue full: %zu EMF SLO metric events dropped",
                    s->n_pend);
        return AG_EAGAIN;
    }
    if (rc != 0) {
        ag_metric_add(s->m_met_failed, s->n_pend);
        ag_log_warn(WHO, "%zu EMF SLO metric events not queued: %s", s->n_pend, ag_strerror(rc));
        return rc == AG_ENOMEM ? AG_ENOMEM : 0;
    }
    ag_metric_add(s->m_met_sent, s->n_pend);
    /* One emission per interval: no reason to hold it for the pusher's flush timer. */
    ex_cw_pusher_flush(s->pusher);
    return 0;
}

/* ---- alerts ---------------------------------------------------------------------------------- */

static void log_alert(struct ex_slo_sinks *s, const struct slo_alert_event *ev)
{
    struct ag_buf b;
    ag_buf_init(&b, 16384);
    const char *slo = ev->slo != NULL ? ev->slo->name : "?";
    const char *alert = ev->alert != NULL ? ev->alert->name : "?";
    const char *sev = ev->alert != NULL && ev->alert->severity ? ev->alert->severity : "";
    int rc = ag_buf_printf(&b, "alert %s: slo=%s alert=%s severity=%s",
                           ev->firing ? "firing" : "resolved", slo, alert, sev);
    if (ev->alert != NULL && ev->eval != NULL) {
        uint64_t ms[2] = {ev->alert->long_ms, ev->alert->short_ms};
        const char *txt[2] = {ev->alert->long_text, ev->alert->short_text};
        for (size_t i = 0; i < 2 && rc == 0; i++) {
            const struct slo_eval_burn *bn = NULL;
            for (size_t j = 0; ms[i] != 0 && j < ev->eval->n_burns; j++) {
                if (ev->eval->burns[j].lookback_ms == ms[i]) {
                    bn = &ev->eval->burns[j];
                }
            }
            if (ms[i] == 0) {
                continue;
            }
            const char *name = txt[i] != NULL ? txt[i] : (bn != NULL ? bn->window : "?");
            if (bn != NULL && bn->burn.has_data) {
                rc = ag_buf_printf(&b, " burn_rate[%s]=%.6g", name,
                                   slo_rat_to_double(&bn->burn.rate));
            } else {
                rc = ag_buf_printf(&b, " burn_rate[%s]=null", name);
            }
        }
        if (rc == 0) {
            rc = ag_buf_printf(&b, " error_budget_remaining=%.6g status=%s",
                               slo_rat_to_double(&ev->eval->budget.remaining_fraction),
                               slo_status_name(ev->eval->budget.status));
        }
    }
    if (rc != 0) {
        ag_log_warn(WHO, "alert %s: slo=%s alert=%s", ev->firing ? "firing" : "resolved", slo,
                    alert);
    } else {
        ag_log(ev->firing ? AG_LOG_WARN : AG_LOG_INFO, WHO, "%s", ag_buf_str(&b));
    }
    ag_buf_cleanup(&b);
    ag_metric_add(s->m_log_sent, 1);
}

void ex_slo_sinks_alert(struct ex_slo_sinks *s, const struct slo_alert_event *ev)
{
    if (s == NULL || ev == NULL || s->closing) {
        return;
    }
    if (s->cfg->alert_log) {
        log_alert(s, ev);
    }
    struct ag_buf body;
    if (s->http != NULL) {
        ag_buf_init(&body, EX_SLO_BODY_MAX);
        int rc = ex_slo_webhook_body(ev, s->cfg->webhook.slack != 0, &body);
        size_t len = 0;
        uint8_t *p = rc == 0 ? ag_buf_steal(&body, &len) : NULL;
        if (p == NULL) {
            ag_buf_cleanup(&body);
            ag_metric_add(s->wq.m_failed, 1);
            ag_log_error(WHO, "webhook notification not built: %s",
                         ag_strerror(rc != 0 ? rc : AG_ENOMEM));
        } else {
            nq_push(&s->wq, ev, p, len);
        }
    }
    if (s->sns.client != NULL) {
        struct ag_buf msg, subj;
        ag_buf_init(&msg, EX_SLO_BODY_MAX);
        ag_buf_init(&subj, 4096);
        ag_buf_init(&body, 4 * EX_SLO_BODY_MAX);
        int rc = ex_slo_webhook_body(ev, false, &msg);
        if (rc == 0) {
            rc = ex_slo_sns_subject(ev, &subj);
        }
        if (rc == 0) {
            rc = ex_slo_sns_body(s->cfg->sns.topic_arn, ag_buf_str(&msg), ag_buf_str(&subj), &body);
        }
        size_t len = 0;
        uint8_t *p = rc == 0 ? ag_buf_steal(&body, &len) : NULL;
        ag_buf_cleanup(&msg);
        ag_buf_cleanup(&subj);
        if (p == NULL) {
            ag_buf_cleanup(&body);
            ag_metric_add(s->sq.m_failed, 1);
            ag_log_error(WHO, "SNS notification not built: %s",
                         ag_strerror(rc != 0 ? rc : AG_ENOMEM));
        } else {
            nq_push(&s->sq, ev, p, len);
        }
    }
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

int ex_slo_sinks_new(struct event_base *base, const struct ag_slo_config *cfg,
                     struct ex_slo_sinks **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (base == NULL || cfg == NULL) {
        snprintf(err, errlen, "no event loop or configuration");
        return AG_EINVAL;
    }
    struct ex_slo_sinks *s = ag_calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return AG_ENOMEM;
    }
    s->base = base;
    s->cfg = cfg;
    ag_buf_init(&s->msgs, 64u * 1024 * 1024);
    if (getrandom(&s->rng, sizeof(s->rng), GRND_NONBLOCK) != (ssize_t)sizeof(s->rng)) {
        s->rng = ag_time_mono_ns() ^ (uint64_t)(uintptr_t)s;
    }
    s->rng |= 1;
    s->m_log_sent = sink_counter("sent", help_sent, "log");
    int rc = 0;
    if (cfg->webhook.endpoint != NULL && (rc = webhook_setup(s, err, errlen)) != 0) {
        goto fail;
    }
    if (cfg->sns.topic_arn != NULL) {
        if (strncmp(cfg->sns.topic_arn, "arn:", 4) != 0) {
            snprintf(err, errlen, "alerts.sns.topic_arn: expected an ARN (arn:aws:sns:...)");
            rc = AG_EINVAL;
            goto fail;
        }
        rc = ex_aws_session_init(&s->sns, base, &cfg->sns.aws, &ex_aws_service_sns, err, errlen);
        if (rc != 0) {
            goto fail;
        }
        nq_init(&s->sq, s, "sns", sns_attempt);
    }
    if ((rc = metrics_setup(s, err, errlen)) != 0) {
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (rc == AG_ENOMEM && err != NULL && errlen > 0 && err[0] == '\0') {
        snprintf(err, errlen, "out of memory");
    }
    ex_slo_sinks_free(s);
    return rc;
}

bool ex_slo_sinks_idle(const struct ex_slo_sinks *s)
{
    if (s == NULL) {
        return true;
    }
    if (s->wq.n != 0 || s->sq.n != 0) {
        return false;
    }
    return s->pusher == NULL ||
           (ex_cw_pusher_queued(s->pusher) == 0 && ex_cw_pusher_in_flight(s->pusher) == 0);
}

void ex_slo_sinks_free(struct ex_slo_sinks *s)
{
    if (s == NULL) {
        return;
    }
    s->closing = true;
    /* Attempts in flight end now (counted failed by their callbacks), then what waits. */
    ex_aws_http_free(s->http);
    s->http = NULL;
    nq_fail_all(&s->wq);
    ex_aws_session_cleanup(&s->sns);
    nq_fail_all(&s->sq);
    if (s->pusher != NULL) {
        ex_cw_pusher_close(s->pusher);
    }
    ex_aws_session_cleanup(&s->logs);
    ex_cw_pusher_free(s->pusher);
    ag_free(s->wh_headers);
    ag_free(s->group);
    ag_free(s->stream);
    ag_free(s->pend);
    ag_buf_cleanup(&s->msgs);
    ag_free(s);
}
