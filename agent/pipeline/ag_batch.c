/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The batch processor, as the collector's: payloads are held until send_batch_size items are
 * pending or `timeout` passes since the first of them arrived, then sent on as one merged
 * payload (no copy: the merge references the originals). send_batch_max_size caps every batch
 * sent, splitting a large request when needed. Unlike the collector's, a batch is also sent once
 * the decoded requests it holds reach AG_BATCH_MAX_HELD_BYTES, so what it keeps alive stays
 * bounded in bytes whatever the span sizes (send_batch_size counts items only).
 *
 * Backpressure instead of loss: when the stage after it refuses a batch for now (AG_EAGAIN: an
 * exporter's queue is full; nothing of it was taken), the batch is kept and offered again on a
 * timer (10 ms doubling to 1 s), and until it is taken every new payload is refused with
 * AG_EAGAIN, which the receivers answer with a retryable UNAVAILABLE / 503: the clients keep
 * their data, and what was acknowledged is not dropped. Only a refusal still standing at
 * shutdown (flush) drops, counted in otter_processor_dropped_total.
 */
#include "ag_component.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_metrics.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define RETRY_FIRST_MS 10u
#define RETRY_MAX_MS   1000u

struct batch {
    struct ag_batch_config cfg;
    struct ag_component_env env;
    struct event *timer;
    struct ag_payload **pending;
    size_t n_pending, cap_pending;
    size_t pending_items;
    size_t pending_bytes;      /* Σ ag_payload_footprint() of what is pending */
    struct ag_metric *dropped; /* otter_processor_dropped_total for this batch instance */
    struct ag_payload *refused; /* the batch the next stage refused for now, offered again */
    struct event *retry;        /* offers |refused| again */
    unsigned retry_ms;          /* the next retry's delay */
};

static void drop(struct batch *b, size_t items, const char *why)
{
    ag_metric_add(b->dropped, items);
    ag_log_warn(b->env.id, "%zu %s dropped: %s", items, ag_signal_items(b->env.signal), why);
}

static void batch_send(struct batch *b);

/* Offers |out| (one reference, handed over) to the next stage. Refused for now: kept in
 * b->refused and offered again later. */
static void deliver(struct batch *b, struct ag_payload *out)
{
    int rc = b->env.next.consume(b->env.next.self, out);
    if (rc == AG_EAGAIN) {
        b->refused = out;
        b->retry_ms = RETRY_FIRST_MS;
        struct timeval tv = {0, (suseconds_t)b->retry_ms * 1000};
        evtimer_add(b->retry, &tv);
        return;
    }
    if (rc != 0) {
        char why[128];
        snprintf(why, sizeof(why), "the next stage failed on the batch: %s", ag_strerror(rc));
        drop(b, out->items, why);
    }
    ag_payload_unref(out);
}

/* Offers the refused batch again. Returns true when it was taken (or failed for good). */
static bool offer_refused(struct batch *b)
{
    if (b->refused == NULL) {
        return true;
    }
    struct ag_payload *out = b->refused;
    b->refused = NULL;
    event_del(b->retry);
    unsigned delay = b->retry_ms;
    deliver(b, out);
    if (b->refused == NULL) {
        batch_send(b); /* what was held meanwhile (a request split in chunks) */
        return true;
    }
    /* Refused again: back off. */
    b->retry_ms = delay * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : delay * 2;
    struct timeval tv = {(time_t)(b->retry_ms / 1000), (suseconds_t)(b->retry_ms % 1000) * 1000};
    evtimer_add(b->retry, &tv);
    return false;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    offer_refused(arg);
}

/* Sends what is pending: as one payload, or (when payloads were held while the next stage
 * refused, see deliver) as several of at most send_batch_max_size items. Stops at a refusal:
 * the rest stays pending until the refused batch is taken. */
static void batch_send(struct batch *b)
{
    event_del(b->timer);
    size_t max = b->cfg.send_batch_max_size;
    size_t start = 0;
    while (start < b->n_pending && b->refused == NULL) {
        size_t end = start, items = 0, bytes = 0;
        while (end < b->n_pending &&
               (end == start || max == 0 || items + b->pending[end]->items <= max)) {
            items += b->pending[end]->items;
            bytes += ag_payload_footprint(b->pending[end]);
            end++;
        }
        struct ag_payload *out = b->pending[start]; /* its reference is handed on */
        if (end - start > 1) {
            out = ag_payload_merge(b->pending + start, end - start);
            for (size_t i = start; i < end; i++) {
                ag_payload_unref(b->pending[i]);
            }
        }
        b->pending_items -= items;
        b->pending_bytes -= bytes;
        start = end;
        if (out == NULL) {
            drop(b, items, "out of memory merging a batch");
            continue;
        }
        deliver(b, out);
    }
    if (start > 0) {
        memmove(b->pending, b->pending + start, (b->n_pending - start) * sizeof(*b->pending));
        b->n_pending -= start;
    }
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
    if (!offer_refused(b)) {
        return AG_EAGAIN; /* the client keeps it and retries */
    }
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

/* At shutdown: what the next stage still refuses after one more offer is dropped. */
static void batch_flush(void *self)
{
    struct batch *b = self;
    for (int round = 0; round < 2; round++) {
        if (!offer_refused(b)) {
            event_del(b->retry);
            size_t items = b->refused->items;
            ag_payload_unref(b->refused);
            b->refused = NULL;
            drop(b, items, "shutting down while the next stage refuses them");
        }
        if (round == 0) {
            batch_send(b);
        }
    }
}

static void batch_destroy(void *self)
{
    struct batch *b = self;
    for (size_t i = 0; i < b->n_pending; i++) {
        ag_payload_unref(b->pending[i]);
    }
    ag_free(b->pending);
    if (b->refused != NULL) {
        drop(b, b->refused->items, "destroyed while the next stage refuses them");
        ag_payload_unref(b->refused);
    }
    if (b->timer != NULL) {
        event_free(b->timer);
    }
    if (b->retry != NULL) {
        event_free(b->retry);
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
                                    "(the stage after it failed on them, or still refused "
                                    "them at shutdown).",
                                    labels);
    b->timer = evtimer_new(env->base, on_timer, b);
    b->retry = evtimer_new(env->base, on_retry, b);
    if (b->timer == NULL || b->retry == NULL) {
        if (b->timer != NULL) {
            event_free(b->timer);
        }
        if (b->retry != NULL) {
            event_free(b->retry);
        }
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
