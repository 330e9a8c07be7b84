/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Timeslices over a rolling window: per-period counts wait in a small ring until the period's
 * end plus the grace delay, are judged once (exactly, with the missing-data policy), and the
 * verdict lands in a ring of 2-bit cells (slo_verdicts). Nothing is judged twice and late data
 * is counted.
 */
#include "slo_slices.h"

#include <string.h>

#include "ag_mem.h"
#include "slo_codec.h"
#include "slo_verdicts.h"

struct slo_slices {
    struct slo_verdicts *periods; /* the judged periods of the window */
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
    bool calendar;
    struct slo_calendar cal;      /* verdicts per calendar period, buckets of one period */
    int64_t cal_ignored_start;    /* the calendar period cal_ignored belongs to */
    uint64_t cal_ignored;         /* periods ignored in it (they leave N) */
    /* For reading a checkpoint of format version 2 (periods in a slo_window): its config. */
    uint64_t lbs[SLO_WINDOW_MAX_LOOKBACKS];
    size_t n_lbs;
    size_t max_bytes;
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
    struct slo_verdicts_config vc = {cfg->period_ms, cfg->window_ms, cfg->lookbacks_ms,
                                     cfg->n_lookbacks, cfg->max_bytes};
    rc = slo_verdicts_new(&vc, start_ms, &s->periods);
    if (rc != 0) {
        goto out;
    }
    s->n_lbs = cfg->n_lookbacks;
    if (cfg->n_lookbacks > 0) {
        memcpy(s->lbs, cfg->lookbacks_ms, cfg->n_lookbacks * sizeof(*s->lbs));
    }
    s->max_bytes = cfg->max_bytes;
    if (cfg->calendar) {
        s->calendar = true;
        rc = slo_calendar_init_tz(&s->cal, cfg->unit, cfg->tz, cfg->utc_offset_s, cfg->period_ms,
                                  start_ms);
        if (rc != 0) {
            goto out;
        }
        s->cal_ignored_start = s->cal.start_ms;
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
    slo_verdicts_free(s->periods);
    ag_free(s);
}

size_t slo_slices_bytes(const struct slo_slices *s)
{
    return sizeof(*s) + slo_verdicts_bytes(s->periods);
}

/* Counts |k| periods starting at |t| with one verdict into the calendar accumulator. */
static void calendar_put(struct slo_slices *s, int64_t t, uint64_t k, enum slo_slice_verdict v)
{
    if (!s->calendar || k == 0) {
        return;
    }
    slo_calendar_advance(&s->cal, t);
    if (s->cal.start_ms != s->cal_ignored_start) {
        s->cal_ignored_start = s->cal.start_ms;
        s->cal_ignored = 0;
    }
    if (v == SLO_SLICE_IGNORED) {
        if (t >= s->cal.start_ms) {
            s->cal_ignored += k;
        }
        return;
    }
    /* Cannot fail: good <= total, t was validated, and k is at most a year of periods. */
    int rc = slo_calendar_add(&s->cal, t, v == SLO_SLICE_GOOD ? k : 0, k);
    (void)rc;
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
    if (v == SLO_SLICE_IGNORED) {
        s->stats.ignored++;
    }
    /* The ring's clock is next_start: this cannot be refused. */
    if (slo_verdicts_put(s->periods, s->next_start, v) != 0) {
        slo_verdicts_advance(s->periods, end);
    }
    calendar_put(s, s->next_start, 1, v);
    if (s->calendar) {
        slo_calendar_advance(&s->cal, end);
    }
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
        int64_t from = s->next_start;
        s->next_start += (int64_t)skip * p;
        slo_verdicts_advance(s->periods, s->next_start);
        if (s->calendar) {
            /* The skipped run [from, next_start) only matters in the calendar period holding
             * its end and the one before (the "previous period" report). */
            enum slo_slice_verdict v = slo_slice_judge(0, 0, &s->target, s->missing);
            int64_t cs, ce, ps, pe;
            if (slo_calendar_bounds_tz(s->cal.unit, s->cal.tz, s->cal.utc_offset_s,
                                       s->next_start - 1, &cs, &ce) == 0 &&
                slo_calendar_bounds_tz(s->cal.unit, s->cal.tz, s->cal.utc_offset_s, cs - 1, &ps,
                                       &pe) == 0) {
                int64_t a0 = from > ps ? from : ps, b0 = cs < s->next_start ? cs : s->next_start;
                int64_t a1 = from > cs ? from : cs;
                if (b0 > a0) {
                    calendar_put(s, a0, (uint64_t)(b0 - a0) / s->period_ms, v);
                }
                calendar_put(s, a1, (uint64_t)(s->next_start - a1) / s->period_ms, v);
            }
            slo_calendar_advance(&s->cal, s->next_start);
        }
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
    return slo_verdicts_counts(s->periods, lookback_ms, out);
}

int slo_slices_calendar_counts(const struct slo_slices *s, struct slo_counts *out,
                               uint64_t *n_total, int64_t *start_ms, int64_t *end_ms)
{
    int64_t cs, ce;
    memset(out, 0, sizeof(*out));
    *n_total = 0;
    if (!s->calendar) {
        return AG_ENOTFOUND;
    }
    slo_calendar_counts(&s->cal, out, &cs, &ce);
    uint64_t ignored = s->cal_ignored_start == cs ? s->cal_ignored : 0;
    *n_total = (uint64_t)(ce - cs) / s->period_ms - ignored;
    if (start_ms != NULL) {
        *start_ms = cs;
    }
    if (end_ms != NULL) {
        *end_ms = ce;
    }
    return 0;
}

bool slo_slices_calendar_previous(const struct slo_slices *s, struct slo_counts *out,
                                  int64_t *start_ms, int64_t *end_ms)
{
    if (!s->calendar) {
        memset(out, 0, sizeof(*out));
        return false;
    }
    return slo_calendar_previous(&s->cal, out, start_ms, end_ms);
}

void slo_slices_range(const struct slo_slices *s, int64_t from_ms, int64_t to_ms,
                      struct slo_counts *out)
{
    slo_verdicts_range(s->periods, from_ms, to_ms, out);
}

int64_t slo_slices_judged_until(const struct slo_slices *s)
{
    return s->next_start;
}

void slo_slices_get_stats(const struct slo_slices *s, struct slo_slices_stats *out)
{
    *out = s->stats;
}

void slo_slices_save(const struct slo_slices *s, struct slo_wr *w)
{
    slo_put_i64(w, s->next_start);
    slo_put_u64(w, s->npend);
    slo_put_u64(w, s->head);
    for (size_t i = 0; i < s->npend; i++) {
        slo_put_u64(w, s->pend[i].good);
        slo_put_u64(w, s->pend[i].total);
    }
    slo_put_u64(w, s->stats.judged);
    slo_put_u64(w, s->stats.no_data);
    slo_put_u64(w, s->stats.ignored);
    slo_put_u64(w, s->stats.late);
    slo_put_u64(w, s->calendar);
    if (s->calendar) {
        slo_calendar_save(&s->cal, w);
        slo_put_i64(w, s->cal_ignored_start);
        slo_put_u64(w, s->cal_ignored);
    }
    slo_verdicts_save(s->periods, w);
}

/*
 * Format version 2 kept the judged periods in a slo_window of one bucket per period (u32
 * pairs): read it into a scratch window of the same configuration and copy the periods of
 * [next_start - W, next_start) into the ring, one cell each (a bucket of 0 or 1 counted period).
 */
static int load_legacy_periods(struct slo_slices *s, struct slo_rd *r)
{
    struct slo_window *tmp = NULL;
    struct slo_window_config wc = {s->window_ms, s->lbs, s->n_lbs, s->max_bytes, s->period_ms};
    int rc = slo_window_new(&wc, s->next_start, &tmp);
    if (rc != 0) {
        /* a window the old layout could not hold was never written */
        return rc == AG_ENOMEM ? AG_ENOMEM : AG_EPROTO;
    }
    rc = slo_window_load(tmp, r);
    /* The periods window's clock is the end of the last judged period (or the start time
     * inside the first period). */
    if (rc == 0 && slo_window_now(tmp) >= s->next_start + (int64_t)s->period_ms) {
        rc = AG_EPROTO;
    }
    int64_t from = s->next_start - (int64_t)s->window_ms;
    if (from < 0) {
        from = 0;
    }
    if (rc == 0) {
        rc = slo_verdicts_reset(s->periods, from);
    }
    for (int64_t t = from; rc == 0 && t < s->next_start; t += (int64_t)s->period_ms) {
        struct slo_counts c;
        rc = slo_window_range(tmp, s->window_ms, t, t + (int64_t)s->period_ms, &c);
        if (rc == 0 && c.total > 1) {
            rc = AG_EPROTO;
        }
        if (rc == 0) {
            enum slo_slice_verdict v = c.total == 0 ? SLO_SLICE_IGNORED
                                       : c.good == 1 ? SLO_SLICE_GOOD
                                                     : SLO_SLICE_BAD;
            rc = slo_verdicts_put(s->periods, t, v);
        }
    }
    slo_window_free(tmp);
    return rc == AG_ENOMEM ? rc : (rc != 0 ? AG_EPROTO : 0);
}

int slo_slices_load(struct slo_slices *s, struct slo_rd *r, bool legacy)
{
    int64_t next = slo_get_i64(r);
    if (slo_get_u64(r) != s->npend) {
        return AG_EPROTO;
    }
    uint64_t head = slo_get_u64(r);
    if (r->bad || head >= s->npend || next < 0 || next > SLO_TIME_MAX_MS ||
        next % (int64_t)s->period_ms != 0) {
        return AG_EPROTO;
    }
    s->next_start = next;
    s->head = (size_t)head;
    for (size_t i = 0; i < s->npend; i++) {
        s->pend[i].good = slo_get_u64(r);
        s->pend[i].total = slo_get_u64(r);
        if (s->pend[i].good > s->pend[i].total) {
            return AG_EPROTO;
        }
    }
    s->stats.judged = slo_get_u64(r);
    s->stats.no_data = slo_get_u64(r);
    s->stats.ignored = slo_get_u64(r);
    s->stats.late = slo_get_u64(r);
    if (slo_get_u64(r) != (uint64_t)s->calendar) {
        return AG_EPROTO;
    }
    if (s->calendar) {
        int rc = slo_calendar_load(&s->cal, r);
        if (rc != 0) {
            return rc;
        }
        s->cal_ignored_start = slo_get_i64(r);
        s->cal_ignored = slo_get_u64(r);
        /* The calendar period's periods hold its counted and its ignored ones: more ignored
         * would take N below zero (found by fuzz_slo_state). */
        struct slo_counts c;
        int64_t cs = 0, ce = 0;
        slo_calendar_counts(&s->cal, &c, &cs, &ce);
        uint64_t room = ce > cs ? (uint64_t)(ce - cs) / s->period_ms : 0;
        if (s->cal_ignored_start == cs && (c.total > room || s->cal_ignored > room - c.total)) {
            return AG_EPROTO;
        }
    }
    if (r->bad) {
        return AG_EPROTO;
    }
    int rc = legacy ? load_legacy_periods(s, r) : slo_verdicts_load(s->periods, r);
    if (rc != 0) {
        return rc;
    }
    /* The ring's clock is the end of the last judged period: where judging goes on. */
    if (slo_verdicts_end(s->periods) != s->next_start) {
        return AG_EPROTO;
    }
    return r->bad ? AG_EPROTO : 0;
}
