/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Timeslices over a rolling window: per-period counts wait in a small ring until the period's
 * end plus the grace delay, are judged once (exactly, with the missing-data policy), and the
 * verdict lands in a slo_window of periods. Nothing is judged twice and late data is counted.
 */
#include "slo_slices.h"

#include <string.h>

#include "ag_mem.h"

struct slo_slices {
    struct slo_window *periods; /* good = good periods, total = counted periods */
    uint64_t period_ms;
    uint64_t grace_ms;
    uint64_t window_ms;
    struct slo_decimal target;
    enum slo_missing_policy missing;
    int64_t next_start; /* start of the oldest period not yet judged */
    size_t npend;
    size_t head; /* pend[head] holds the period starting at next_start */
    struct slo_counts pend[SLO_SLICES_MAX_PENDING];
    struct slo_slices_stats stats;
};

int slo_slices_new(const struct slo_slices_config *cfg, int64_t start_ms, struct slo_slices **out)
{
    struct slo_slices *s = NULL;
    int rc;

    *out = NULL;
    if (cfg->period_ms == 0 || cfg->target.den == 0 || cfg->target.num == 0 ||
        cfg->target.num > cfg->target.den ||
        cfg->grace_ms / cfg->period_ms >= SLO_SLICES_MAX_PENDING - 2) {
        return AG_EINVAL;
    }
    s = ag_calloc(1, sizeof(*s));
    if (s == NULL) {
        return AG_ENOMEM;
    }
    struct slo_window_config wc = {cfg->window_ms, cfg->lookbacks_ms, cfg->n_lookbacks,
                                   cfg->max_bytes, cfg->period_ms};
    rc = slo_window_new(&wc, start_ms, &s->periods);
    if (rc != 0) {
        goto out;
    }
    s->period_ms = cfg->period_ms;
    s->grace_ms = cfg->grace_ms;
    s->window_ms = cfg->window_ms;
    s->target = cfg->target;
    s->missing = cfg->missing;
    s->next_start = start_ms - start_ms % (int64_t)cfg->period_ms;
    /* After judging up to t, t - next_start < period + grace: at most 2 + grace / period. */
    s->npend = (size_t)(cfg->grace_ms / cfg->period_ms) + 2;
out:
    if (rc != 0) {
        slo_slices_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void slo_slices_free(struct slo_slices *s)
{
    if (s == NULL) {
        return;
    }
    slo_window_free(s->periods);
    ag_free(s);
}

static void judge_one(struct slo_slices *s)
{
    struct slo_counts *c = &s->pend[s->head];
    enum slo_slice_verdict v = slo_slice_judge(c->good, c->total, &s->target, s->missing);
    int64_t end = s->next_start + (int64_t)s->period_ms;
    s->stats.judged++;
    if (c->total == 0) {
        s->stats.no_data++;
    }
    /* One period is 0 or 1 in a fresh bucket of width period: it cannot be refused. */
    if (v == SLO_SLICE_IGNORED) {
        s->stats.ignored++;
    } else if (slo_window_add(s->periods, s->next_start, v == SLO_SLICE_GOOD, 1) != 0) {
        s->stats.ignored++;
    }
    slo_window_advance(s->periods, end);
    memset(c, 0, sizeof(*c));
    s->head = (s->head + 1) % s->npend;
    s->next_start = end;
}

void slo_slices_advance(struct slo_slices *s, int64_t now_ms)
{
    const int64_t p = (int64_t)s->period_ms;
    if (now_ms > SLO_TIME_MAX_MS) {
        now_ms = SLO_TIME_MAX_MS;
    }
    /* Periods ending at or before now - grace are due. */
    int64_t due_end = now_ms - (int64_t)s->grace_ms;
    if (due_end < s->next_start + p) {
        return;
    }
    uint64_t due = (uint64_t)(due_end - s->next_start) / (uint64_t)p;
    uint64_t keep = s->window_ms / s->period_ms + s->npend;
    if (due > keep) {
        /* A long gap: judge what is pending, then skip empty periods that would leave the
         * window anyway; the last window's worth is still judged by the policy. */
        for (size_t i = 0; i < s->npend; i++) {
            judge_one(s);
        }
        due -= s->npend;
        uint64_t skip = due - s->window_ms / s->period_ms;
        s->stats.judged += skip;
        s->stats.no_data += skip;
        if (s->missing == SLO_MISSING_IGNORE) {
            s->stats.ignored += skip;
        }
        s->next_start += (int64_t)skip * p;
        slo_window_advance(s->periods, s->next_start);
        due -= skip;
    }
    while (due-- > 0) {
        judge_one(s);
    }
}

int slo_slices_add(struct slo_slices *s, int64_t t_ms, uint64_t good, uint64_t total)
{
    if (good > total || t_ms < 0 || t_ms > SLO_TIME_MAX_MS) {
        return AG_EINVAL;
    }
    if (t_ms < s->next_start) {
        s->stats.late++;
        return 0;
    }
    slo_slices_advance(s, t_ms);
    size_t idx = (size_t)((uint64_t)(t_ms - s->next_start) / s->period_ms);
    struct slo_counts *c = &s->pend[(s->head + idx) % s->npend];
    if (c->total + total < total) {
        return AG_ETOOBIG;
    }
    c->good += good;
    c->total += total;
    return 0;
}

int slo_slices_counts(const struct slo_slices *s, uint64_t lookback_ms, struct slo_counts *out)
{
    return slo_window_counts(s->periods, lookback_ms, out);
}

int64_t slo_slices_judged_until(const struct slo_slices *s)
{
    return s->next_start;
}

void slo_slices_get_stats(const struct slo_slices *s, struct slo_slices_stats *out)
{
    *out = s->stats;
}
