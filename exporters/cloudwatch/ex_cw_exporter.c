/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The awscloudwatchlogs exporter: log records -> messages (ex_cw_logs) on the way in, ex_cw_pusher
 * for the PutLogEvents calls, and the AWS client underneath (one HTTP client, credentials chain
 * and Logs client per instance, built from ADOT's session options). Records that cannot become
 * events are dropped here and counted with a reason, never silently.
 */
#include "ex_cw_exporter.h"
#include "ag_buf.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ag_time.h"
#include "ex_aws_client.h"
#include "ex_aws_session.h"
#include "ex_cw_logs.h"
#include "ex_cw_pusher.h"

#include <stdio.h>
#include <string.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

/* What is left queued at shutdown gets this long: half of the default service.shutdown_timeout. */
#define DRAIN_TIMEOUT_MS 5000u
/* The scratch buffers keep their memory between payloads up to this size. */
#define SCRATCH_KEEP (4u * 1024 * 1024)
#define SCRATCH_CAP  (1024u * 1024 * 1024)
/* One record's message before truncation (the receivers' request limits are far below). */
#define RECORD_CAP (64u * 1024 * 1024)
#define QUEUE_UNIT (64u * 1024) /* sending_queue.queue_size counts this many message bytes */

/* One event of the payload being converted: offsets into the scratch buffers. */
struct pend {
    size_t msg, len;      /* in msgs */
    size_t group, stream; /* in names, NUL-terminated */
    int64_t ts;
};

struct ex_cw_exporter {
    char *id;
    const struct ag_awscloudwatchlogs_config *cfg; /* borrowed: the config outlives us */
    struct ex_aws_session aws;
    struct ex_cw_pusher *pusher;
    struct ag_buf msgs, names, one;
    struct pend *pend;
    struct ex_cw_event *evs;
    size_t cap;
    uint64_t log_last_ns;
    struct ag_metric *m_invalid, *m_not_emf, *m_encode;
};

static int client_send(void *ctx, const struct ex_aws_call *call, ex_aws_call_fn *done, void *arg)
{
    return ex_aws_client_call(ctx, call, done, arg);
}

static void drop_log(struct ex_cw_exporter *x, size_t n, const char *why)
{
    uint64_t now = ag_time_mono_ns();
    if (n == 0 || (x->log_last_ns != 0 && now - x->log_last_ns < 10ull * 1000000000ull)) {
        return;
    }
    x->log_last_ns = now;
    ag_log_warn(x->id, "%zu log records dropped: %s (at most one such line per 10 s)", n, why);
}

static int pend_reserve(struct ex_cw_exporter *x, size_t n)
{
    if (n <= x->cap) {
        return 0;
    }
    size_t ncap = x->cap ? x->cap : 256;
    while (ncap < n) {
        ncap *= 2;
    }
    struct pend *p = ag_realloc(x->pend, ncap * sizeof(*p));
    if (p == NULL) {
        return AG_ENOMEM;
    }
    x->pend = p;
    struct ex_cw_event *e = ag_realloc(x->evs, ncap * sizeof(*e));
    if (e == NULL) {
        return AG_ENOMEM;
    }
    x->evs = e;
    x->cap = ncap;
    return 0;
}

/* Appends |s| with its NUL to names and returns its offset in |*off|. */
static int add_name(struct ex_cw_exporter *x, const char *s, size_t *off)
{
    *off = x->names.len;
    return ag_buf_add(&x->names, s, strlen(s) + 1);
}

/* Converts one record into x->pend[*n]; drops (counted in |drops|) are not errors. */
static int convert(struct ex_cw_exporter *x, const ex_cw_log_record *rec, const ex_cw_scope *scope,
                   const ex_cw_resource *res, size_t g, size_t s, int names_ok, int64_t now,
                   size_t *n, size_t drops[3])
{
    int rc;
    ag_buf_reset(&x->one);
    if (x->cfg->raw_log) {
        rc = ex_cw_logs_raw(rec, &x->one);
    } else {
        rc = ex_cw_logs_message(rec, scope, res, &x->one);
    }
    if (rc == AG_EINVAL || rc == AG_ETOOBIG) {
        drops[2]++;
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (x->cfg->raw_log) {
        char eg[EX_CW_MAX_NAME_BYTES + 1], es[EX_CW_MAX_NAME_BYTES + 1];
        int emf = ex_cw_logs_emf_route(ag_buf_str(&x->one), x->one.len, eg, es, sizeof(eg));
        if (!emf && x->cfg->emf_only) {
            drops[1]++;
            return 0;
        }
        if (eg[0] != '\0') {
            names_ok = ex_cw_group_name_valid(eg);
            if ((rc = add_name(x, eg, &g)) != 0) {
                return rc;
            }
            if (es[0] != '\0') {
                names_ok = names_ok && ex_cw_stream_name_valid(es);
                if ((rc = add_name(x, es, &s)) != 0) {
                    return rc;
                }
            }
        }
    }
    if (!names_ok) {
        drops[0]++;
        return 0;
    }
    if ((rc = pend_reserve(x, *n + 1)) != 0) {
        return rc;
    }
    struct pend *p = &x->pend[(*n)++];
    p->msg = x->msgs.len;
    p->len = x->one.len;
    p->group = g;
    p->stream = s;
    p->ts = ex_cw_logs_timestamp(rec, now);
    return ag_buf_add(&x->msgs, ag_buf_ptr(&x->one), x->one.len);
}

static int cw_consume(void *self, struct ag_payload *pl)
{
    struct ex_cw_exporter *x = self;
    const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req =
        (const void *)pl->msg;
    size_t drops[3] = {0}, n = 0;
    int rc = 0;
    if (pl->signal != AG_SIGNAL_LOGS) {
        return AG_EUNSUPP;
    }
    /* Checked before converting, so a refused payload has counted nothing (it comes again). */
    if (!ex_cw_pusher_has_room(x->pusher)) {
        return AG_EAGAIN;
    }
    ag_buf_reset(&x->msgs);
    ag_buf_reset(&x->names);
    int64_t now = (int64_t)(ag_time_now_ns() / 1000000u);
    for (size_t i = 0; rc == 0 && i < req->n_resource_logs; i++) {
        const Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[i];
        size_t g = x->names.len, s;
        rc = ex_cw_logs_name(x->cfg->log_group_name, rl->resource, &x->names);
        rc = rc != 0 ? rc : ag_buf_add(&x->names, "", 1);
        s = x->names.len;
        rc = rc != 0 ? rc : ex_cw_logs_name(x->cfg->log_stream_name, rl->resource, &x->names);
        rc = rc != 0 ? rc : ag_buf_add(&x->names, "", 1);
        if (rc != 0) {
            break;
        }
        const char *names = ag_buf_str(&x->names);
        int names_ok = ex_cw_group_name_valid(names + g) && ex_cw_stream_name_valid(names + s);
        for (size_t j = 0; rc == 0 && j < rl->n_scope_logs; j++) {
            const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[j];
            for (size_t k = 0; rc == 0 && k < sl->n_log_records; k++) {
                rc = convert(x, sl->log_records[k], sl->scope, rl->resource, g, s, names_ok, now,
                             &n, drops);
            }
        }
    }
    if (rc == 0) {
        const char *msgs = ag_buf_str(&x->msgs);
        const char *names = ag_buf_str(&x->names);
        for (size_t i = 0; i < n; i++) {
            x->evs[i] = (struct ex_cw_event){.group = names + x->pend[i].group,
                                             .stream = names + x->pend[i].stream,
                                             .timestamp_ms = x->pend[i].ts,
                                             .message = msgs + x->pend[i].msg,
                                             .len = x->pend[i].len};
        }
        /* The room was checked above: only AG_ENOMEM can refuse the push now. */
        rc = ex_cw_pusher_push(x->pusher, x->evs, n);
        if (rc == AG_EAGAIN) {
            rc = AG_ENOMEM;
        }
    }
    if (rc == 0) {
        ag_metric_add(x->m_invalid, drops[0]);
        ag_metric_add(x->m_not_emf, drops[1]);
        ag_metric_add(x->m_encode, drops[2]);
        drop_log(x, drops[0], "log group or stream name not valid after placeholder expansion");
        drop_log(x, drops[1], "body is not EMF (emf_only)");
        drop_log(x, drops[2], "message could not be written (nesting too deep or too big)");
    }
    if (x->msgs.alloc > SCRATCH_KEEP) {
        ag_buf_cleanup(&x->msgs);
    }
    if (x->one.alloc > SCRATCH_KEEP) {
        ag_buf_cleanup(&x->one);
    }
    return rc;
}

static void cw_flush(void *self)
{
    struct ex_cw_exporter *x = self;
    ex_cw_pusher_flush(x->pusher);
}

static void cw_destroy(void *self)
{
    struct ex_cw_exporter *x = self;
    if (x == NULL) {
        return;
    }
    /* Runs after the service loop has stopped: drain by running the loop ourselves. */
    ex_cw_pusher_drain(x->pusher);
    ex_cw_pusher_close(x->pusher);
    /* The client fails what is still in flight: the pusher counts it. */
    ex_aws_session_cleanup(&x->aws);
    ex_cw_pusher_free(x->pusher);
    ag_buf_cleanup(&x->msgs);
    ag_buf_cleanup(&x->names);
    ag_buf_cleanup(&x->one);
    ag_free(x->pend);
    ag_free(x->evs);
    ag_free(x->id);
    ag_free(x);
}

static struct ag_metric *drop_counter(const char *id, const char *reason)
{
    char labels[256];
    snprintf(labels, sizeof(labels), "exporter=\"%s\",reason=\"%s\"", id, reason);
    return ag_metrics_counter("otter_exporter_dropped_total",
                              "Items an exporter dropped, by reason.", labels);
}

static int cw_create(const struct ag_component_config *cfg, const struct ag_component_env *env,
                     void **out, char *err, size_t errlen)
{
    const struct ag_awscloudwatchlogs_config *cc = &cfg->u.awscloudwatchlogs;
    const struct ag_aws_session_config *s = &cc->aws;
    struct ex_cw_tag tags[EX_CW_MAX_TAGS];
    int rc = AG_ENOMEM;
    *out = NULL;
    struct ex_cw_exporter *x = ag_calloc(1, sizeof(*x));
    if (x == NULL) {
        return AG_ENOMEM;
    }
    x->cfg = cc;
    ag_buf_init(&x->msgs, SCRATCH_CAP);
    ag_buf_init(&x->names, SCRATCH_CAP);
    ag_buf_init(&x->one, RECORD_CAP);
    x->id = ag_strdup(cfg->id);
    if (x->id == NULL) {
        goto out;
    }
    rc = ex_aws_session_init(&x->aws, env->base, s, &ex_aws_service_logs, err, errlen);
    if (rc != 0) {
        goto out;
    }
    size_t n_tags = cc->tags.n < EX_CW_MAX_TAGS ? cc->tags.n : EX_CW_MAX_TAGS;
    for (size_t i = 0; i < n_tags; i++) {
        tags[i].key = cc->tags.kv[2 * i];
        tags[i].value = cc->tags.kv[2 * i + 1];
    }
    struct ex_cw_pusher_options popts = {
        .id = cfg->id,
        .max_bytes = (size_t)cc->queue_size * QUEUE_UNIT,
        .max_in_flight = s->num_workers,
        .max_event_bytes = (size_t)cc->max_event_size,
        .drain_timeout_ms = DRAIN_TIMEOUT_MS,
        .retention_days = cc->log_retention,
        .tags = tags,
        .n_tags = n_tags,
    };
    struct ex_cw_sender sender = {client_send, x->aws.client};
    rc = ex_cw_pusher_new(env->base, &popts, &sender, &x->pusher);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the CloudWatch Logs pusher: %s", ag_strerror(rc));
        goto out;
    }
    x->m_invalid = drop_counter(x->id, "invalid_name");
    x->m_not_emf = drop_counter(x->id, "not_emf");
    x->m_encode = drop_counter(x->id, "encode");
    *out = x;
    x = NULL;
out:
    if (x != NULL && rc == AG_ENOMEM && err != NULL && errlen > 0 && err[0] == '\0') {
        snprintf(err, errlen, "out of memory");
    }
    cw_destroy(x);
    return rc;
}

const struct ag_exporter_ops ex_cw_exporter_ops = {
    .type = "awscloudwatchlogs",
    .create = cw_create,
    .consume = cw_consume,
    .flush = cw_flush,
    .destroy = cw_destroy,
};
