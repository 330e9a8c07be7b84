/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The awsxray exporter: translation (ex_xray_translate) on the way in, ex_xray_queue for the
 * PutTraceSegments calls, and the AWS client underneath (one HTTP client, credentials chain and
 * X-Ray client per instance, built from ADOT's session options). Spans X-Ray cannot take are
 * dropped here and counted with a reason, never silently.
 */
#include "ex_xray_exporter.h"
#include "ag_buf.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_metrics.h"
#include "ex_aws_client.h"
#include "ex_aws_session.h"
#include "ex_xray_queue.h"
#include "ex_xray_translate.h"

#include <stdio.h>
#include <string.h>

/* The translation buffer keeps its memory between payloads up to this size. */
#define SCRATCH_KEEP (4u * 1024 * 1024)
/* Documents go to the queue in chunks of about this size while a payload is translated, so a
 * batch of thousands of spans never needs a translation buffer of its full size. */
#define SCRATCH_CHUNK (256u * 1024)
/* What is left queued at shutdown gets this long: half of the default service.shutdown_timeout,
 * so a dead endpoint cannot make otterd overrun it. */
#define DRAIN_TIMEOUT_MS 5000u

struct ex_xray_exporter {
    char *id;
    struct ex_xray_options opts; /* borrows the config's arrays: the config outlives us */
    struct ex_aws_session aws;
    struct ex_xray_queue *q;
    struct ag_buf scratch;
    /* Escaped document bytes and documents queued from spans so far: their ratio estimates
     * what a payload will add to the queue before it is translated. */
    uint64_t doc_bytes, docs;
    struct ex_xray_limiter log_drop;
    struct ag_metric *m_invalid, *m_too_big, *m_attrs, *m_trimmed;
};

static int client_send(void *ctx, const struct ex_aws_call *call, ex_aws_call_fn *done, void *arg)
{
    return ex_aws_client_call(ctx, call, done, arg);
}

static void drop_log(struct ex_xray_exporter *x, size_t n, const char *why)
{
    uint64_t lines = ex_xray_limiter_take(&x->log_drop);
    if (lines > 0) {
        ag_log_warn(x->id, "%zu spans dropped: %s (%llu similar lines held back before this "
                    "one)", n, why, (unsigned long long)lines - 1);
    }
}

static int push_chunk(void *ctx, const char *docs, size_t len)
{
    struct ex_xray_exporter *x = ctx;
    int rc = ex_xray_queue_push_escaped(x->q, docs, len);
    if (rc == 0) {
        x->doc_bytes += len;
    }
    return rc;
}

/* What |spans| spans are expected to add to the queue: as many documents of the average size
 * so far (0 before the first, when nothing is known). */
static size_t payload_estimate(const struct ex_xray_exporter *x, size_t spans)
{
    if (x->docs == 0) {
        return 0;
    }
    uint64_t avg = x->doc_bytes / x->docs;
    return avg != 0 && spans > SIZE_MAX / avg ? SIZE_MAX : (size_t)(spans * avg);
}

static int xray_consume(void *self, struct ag_payload *p)
{
    struct ex_xray_exporter *x = self;
    struct ex_xray_translate_result res;
    if (p->signal != AG_SIGNAL_TRACES) {
        return AG_EUNSUPP;
    }
    /*
     * Checked before translating, so a refused payload has counted nothing (it comes again).
     * The estimate keeps a large batch from carrying the queue far past its bound: it is taken
     * only when its documents are expected to fit.
     */
    if (!ex_xray_queue_has_room_for(x->q, payload_estimate(x, p->items))) {
        return AG_EAGAIN;
    }
    ag_buf_reset(&x->scratch);
    /* All or nothing: the chunks are queued held, and a chunk the queue could not take (out of
     * memory) takes the ones before it back out, so the payload, refused, leaves nothing behind
     * that would be sent twice when it comes again. */
    uint64_t doc_bytes = x->doc_bytes;
    ex_xray_queue_hold(x->q);
    int rc = ex_xray_translate_chunked(&x->opts, p->msg, &x->scratch, SCRATCH_CHUNK, push_chunk,
                                       x, &res);
    if (rc == 0) {
        rc = push_chunk(x, (const char *)ag_buf_ptr(&x->scratch), x->scratch.len);
    }
    ex_xray_queue_release(x->q, rc == 0);
    if (rc != 0) {
        x->doc_bytes = doc_bytes;
        ag_buf_cleanup(&x->scratch); /* freed already when |scratch| itself failed */
        return rc;
    }
    x->docs += res.docs;
    if (res.invalid > 0) {
        ag_metric_add(x->m_invalid, res.invalid);
        drop_log(x, res.invalid, "trace id not valid for X-Ray (its first 4 bytes must be a "
                 "Unix time within the last 28 days; see skip_timestamp_validation) or span id "
                 "missing");
    }
    if (res.too_big > 0) {
        ag_metric_add(x->m_too_big, res.too_big);
        drop_log(x, res.too_big, "segment document over 64 kB even without metadata");
    }
    ag_metric_add(x->m_attrs, res.dropped_attributes);
    ag_metric_add(x->m_trimmed, res.trimmed_docs);
    if (x->scratch.alloc > SCRATCH_KEEP) {
        ag_buf_cleanup(&x->scratch);
    }
    return 0;
}

static int xray_consume_xray(void *self, const uint8_t *doc, size_t len)
{
    struct ex_xray_exporter *x = self;
    if (len > EX_XRAY_MAX_DOC_BYTES) {
        ag_metric_add(x->m_too_big, 1);
        return AG_ETOOBIG;
    }
    if (!ex_xray_queue_has_room(x->q)) {
        return AG_EAGAIN;
    }
    return ex_xray_queue_push_doc(x->q, (const char *)doc, len);
}

static void xray_flush(void *self)
{
    struct ex_xray_exporter *x = self;
    ex_xray_queue_pump(x->q);
}

static void xray_destroy(void *self)
{
    struct ex_xray_exporter *x = self;
    if (x == NULL) {
        return;
    }
    /* Runs after the service loop has stopped: drain by running the loop ourselves. */
    ex_xray_queue_drain(x->q);
    ex_xray_queue_close(x->q);
    /* The client fails what is still in flight: the queue counts it. */
    ex_aws_session_cleanup(&x->aws);
    ex_xray_queue_free(x->q);
    ag_buf_cleanup(&x->scratch);
    ag_free(x->id);
    ag_free(x);
}

static int xray_create(const struct ag_component_config *cfg, const struct ag_component_env *env,
                       void **out, char *err, size_t errlen)
{
    const struct ag_awsxray_config *xc = &cfg->u.awsxray_exporter;
    const struct ag_aws_session_config *s = &xc->aws;
    char labels[256];
    int rc = AG_ENOMEM;
    *out = NULL;
    struct ex_xray_exporter *x = ag_calloc(1, sizeof(*x));
    if (x == NULL) {
        return AG_ENOMEM;
    }
    x->id = ag_strdup(cfg->id);
    if (x->id == NULL) {
        goto out;
    }
    ex_xray_options_from_config(xc, &x->opts);
    /* Documents are written in the form the request body carries them (no second pass). */
    x->opts.escaped = true;
    size_t max_bytes = (size_t)xc->queue_size * EX_XRAY_MAX_DOC_BYTES;
    ag_buf_init(&x->scratch, max_bytes + EX_XRAY_TRANSLATE_MIN_CAP);
    rc = ex_aws_session_init(&x->aws, env->base, s, &ex_aws_service_xray, err, errlen);
    if (rc != 0) {
        goto out;
    }
    struct ex_xray_queue_options qopts = {
        .id = cfg->id,
        .max_bytes = max_bytes,
        .max_in_flight = s->num_workers,
        .max_retries = s->max_retries,
        .drain_timeout_ms = DRAIN_TIMEOUT_MS,
    };
    struct ex_xray_sender sender = {client_send, x->aws.client};
    rc = ex_xray_queue_new(env->base, &qopts, &sender, &x->q);
    if (rc != 0) {
        goto out;
    }
    x->m_invalid = ag_metrics_exporter_dropped(x->id, "invalid_trace_id");
    x->m_too_big = ag_metrics_exporter_dropped(x->id, "too_big");
    snprintf(labels, sizeof(labels), "exporter=\"%s\"", x->id);
    x->m_attrs = ag_metrics_counter("otter_exporter_dropped_attributes_total",
                                    "Non-scalar attributes dropped by index_all_attributes.",
                                    labels);
    x->m_trimmed = ag_metrics_counter("otter_exporter_trimmed_documents_total",
                                      "Documents sent without their metadata to fit 64 kB.",
                                      labels);
    if (s->local_mode) {
        ag_log_debug(x->id, "local_mode: no EC2/ECS metadata lookups (otterd makes none here)");
    }
    *out = x;
    x = NULL;
out:
    if (x != NULL && rc == AG_ENOMEM && err != NULL && errlen > 0 && err[0] == '\0') {
        snprintf(err, errlen, "out of memory");
    }
    xray_destroy(x);
    return rc;
}

const struct ag_exporter_ops ex_xray_exporter_ops = {
    .type = "awsxray",
    .create = xray_create,
    .consume = xray_consume,
    .flush = xray_flush,
    .destroy = xray_destroy,
    .consume_xray = xray_consume_xray,
};
