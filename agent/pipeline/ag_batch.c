/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The batch processor, as the collector's: payloads are held until send_batch_size items are
 * pending or `timeout` passes since the first of them arrived, then sent on as one merged
 * payload (no copy: the merge references the originals). send_batch_max_size caps every batch
 * sent, splitting a large request when needed. Unlike the collector's, a batch is also sent once
 * the decoded requests it holds reach AG_BATCH_MAX_HELD_BYTES, so what it keeps alive stays
 * bounded in bytes whatever the span sizes (send_batch_size counts items only).
 */
#include "ag_component.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_metrics.h"

#include <stdio.h>

struct batch {
    struct ag_batch_config cfg;
    struct ag_component_env env;
    struct event *timer;
    struct ag_payload **pending;
    size_t n_pending, cap_pending;
    size_t pending_items;
    size_t pending_bytes;      /* Σ ag_payload_footprint() of what is pending */
    struct ag_metric *dropped; /* otter_processor_dropped_total for this batch instance */
};

/* Sends what is pending as one payload. Downstream refusals are counted there; a batch already
 * acknowledged to the client cannot be refused back, so an error here is only logged. */
static void batch_send(struct batch *b)
{
    if (b->n_pending == 0) {
        return;
    }
    event_del(b->timer);
    struct ag_payload *out;
    if (b->n_pending == 1) {
        out = b->pending[0];
    } else {
        out = ag_payload_merge(b->pending, b->n_pending);
        for (size_t i = 0; i < b->n_pending; i++) {
            ag_payload_unref(b->pending[i]);
        }
    }
    size_t items = b->pending_items;
    b->n_pending = 0;
    b->pending_items = 0;
    b->pending_bytes = 0;
    if (out == NULL) {
        ag_metric_add(b->dropped, items);
        ag_log_error(b->env.id, "out of memory merging a batch: %zu %s dropped", items,
                     ag_signal_items(b->env.signal));
        return;
    }
    int rc = b->env.next.consume(b->env.next.self, out);
    if (rc != 0) {
        ag_metric_add(b->dropped, items);
        ag_log_warn(b->env.id, "the next stage refused a batch of %zu %s, which is dropped: %s",
                    items, ag_signal_items(b->env.signal), ag_strerror(rc));
    }
    ag_payload_unref(out);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    batch_send(arg);
}

static int batch_hold(struct batch *b, struct ag_payload *p)
{
    if (b->n_pending == b->cap_pending) {
        size_t ncap = b->cap_pending ? b->cap_pending * 2 : 16;
        struct ag_payload **n = ag_realloc(b->pending, ncap * sizeof(*n));
        if (n == NULL) {
            return AG_ENOMEM;
        }
        b->pending = n;
        b->cap_pending = ncap;
    }
    b->pending[b->n_pending++] = ag_payload_ref(p);
    b->pending_items += p->items;
    b->pending_bytes += ag_payload_footprint(p);
    if (b->n_pending == 1 && b->cfg.timeout > 0) {
        struct timeval tv = {.tv_sec = (time_t)(b->cfg.timeout / 1000000000ull),
                             .tv_usec = (suseconds_t)(b->cfg.timeout % 1000000000ull / 1000)};
        evtimer_add(b->timer, &tv);
    }
    return 0;
}

static int batch_add(struct batch *b, struct ag_payload *p)
{
    size_t max = b->cfg.send_batch_max_size;
    if (max > 0 && b->pending_items + p->items > max) {
        batch_send(b);
    }
    int rc = batch_hold(b, p);
    if (rc == 0 && (b->pending_items >= b->cfg.send_batch_size || b->cfg.timeout == 0 ||
                    b->pending_bytes >= AG_BATCH_MAX_HELD_BYTES)) {
        batch_send(b);
    }
    return rc;
}

static int batch_consume(void *self, struct ag_payload *p)
{
    struct batch *b = self;
    size_t max = b->cfg.send_batch_max_size;
    if (max == 0 || p->items <= max) {
        return batch_add(b, p);
    }
    struct ag_payload **chunks = NULL;
    long n = ag_payload_split(p, max, &chunks);
    if (n < 0) {
        return (int)n;
    }
    int rc = 0;
    for (long i = 0; i < n; i++) {
        if (rc == 0) {
            rc = batch_add(b, chunks[i]);
        }
        ag_payload_unref(chunks[i]);
    }
    ag_free(chunks);
    return rc;
}

static void batch_flush(void *self)
{
    batch_send(self);
}

static void batch_destroy(void *self)
{
    struct batch *b = self;
    for (size_t i = 0; i < b->n_pending; i++) {
        ag_payload_unref(b->pending[i]);
    }
    ag_free(b->pending);
    if (b->timer != NULL) {
        event_free(b->timer);
    }
    ag_free(b);
}

int ag_batch_new(const struct ag_batch_config *cfg, const struct ag_component_env *env,
                 struct ag_processor *out, char *err, size_t errlen)
{
    struct batch *b = ag_calloc(1, sizeof(*b));
    if (b == NULL) {
        snprintf(err, errlen, "out of memory");
        return AG_ENOMEM;
    }
    b->cfg = *cfg;
    b->env = *env;
    char labels[192];
    snprintf(labels, sizeof(labels), "processor=\"%s\",signal=\"%s\"", env->id,
             ag_signal_name(env->signal));
    b->dropped = ag_metrics_counter("otter_processor_dropped_total",
                                    "Items a processor dropped after they were accepted "
                                    "(the stage after it refused them).",
                                    labels);
    b->timer = evtimer_new(env->base, on_timer, b);
    if (b->timer == NULL) {
        ag_free(b);
        snprintf(err, errlen, "out of memory");
        return AG_ENOMEM;
    }
    out->in.consume = batch_consume;
    out->in.self = b;
    out->flush = batch_flush;
    out->destroy = batch_destroy;
    out->self = b;
    return 0;
}
