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
#include "ex_cw_logs_batch.h"
#include "ex_cw_pusher.h"

#include <stdio.h>
#include <string.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

/* What is left queued at shutdown gets this long: half of the default service.shutdown_timeout. */
#define DRAIN_TIMEOUT_MS 5000u
#define QUEUE_UNIT       (64u * 1024) /* sending_queue.queue_size counts this many message bytes */

struct ex_cw_exporter {
    char *id;
    const struct ag_awscloudwatchlogs_config *cfg; /* borrowed: the config outlives us */
    struct ex_aws_session aws;
    struct ex_cw_pusher *pusher;
    struct ex_cw_logs_batch batch;
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

static int cw_consume(void *self, struct ag_payload *pl)
{
    struct ex_cw_exporter *x = self;
    const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req =
        (const void *)pl->msg;
    if (pl->signal != AG_SIGNAL_LOGS) {
        return AG_EUNSUPP;
    }
    /* Checked before converting, so a refused payload has counted nothing (it comes again). */
    if (!ex_cw_pusher_has_room(x->pusher)) {
        return AG_EAGAIN;
    }
    struct ex_cw_logs_batch *b = &x->batch;
    int rc = ex_cw_logs_batch_fill(b, x->cfg, req, (int64_t)(ag_time_now_ns() / 1000000u));
    if (rc == 0) {
        /* The room was checked above: only AG_ENOMEM can refuse the push now. */
        rc = ex_cw_pusher_push(x->pusher, b->evs, b->n);
        if (rc == AG_EAGAIN) {
            rc = AG_ENOMEM;
        }
    }
    if (rc == 0) {
        ag_metric_add(x->m_invalid, b->drops[EX_CW_LOGS_DROP_INVALID_NAME]);
        ag_metric_add(x->m_not_emf, b->drops[EX_CW_LOGS_DROP_NOT_EMF]);
        ag_metric_add(x->m_encode, b->drops[EX_CW_LOGS_DROP_ENCODE]);
        drop_log(x, b->drops[EX_CW_LOGS_DROP_INVALID_NAME],
                 "log group or stream name not valid after placeholder expansion");
        drop_log(x, b->drops[EX_CW_LOGS_DROP_NOT_EMF], "body is not EMF (emf_only)");
        drop_log(x, b->drops[EX_CW_LOGS_DROP_ENCODE],
                 "message could not be written (nesting too deep or too big)");
    }
    ex_cw_logs_batch_trim(b);
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
    ex_cw_logs_batch_cleanup(&x->batch);
    ag_free(x->id);
    ag_free(x);
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
    ex_cw_logs_batch_init(&x->batch);
    x->batch.escaped = true; /* messages written once, in the form the body carries them */
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
    x->m_invalid =
        ag_metrics_exporter_dropped(x->id, ex_cw_logs_drop_name(EX_CW_LOGS_DROP_INVALID_NAME));
    x->m_not_emf =
        ag_metrics_exporter_dropped(x->id, ex_cw_logs_drop_name(EX_CW_LOGS_DROP_NOT_EMF));
    x->m_encode = ag_metrics_exporter_dropped(x->id, ex_cw_logs_drop_name(EX_CW_LOGS_DROP_ENCODE));
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
