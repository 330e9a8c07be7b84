/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Judged Timeslices periods in 2-bit cells (slo_verdicts.h). Cell values: 0 none, 1 good, 2 bad
 * (3 never written, refused on load). The period starting at s lives in cell (s / p) mod n,
 * n = W / p, with a Euclidean modulo so that periods before the epoch (which are never recorded
 * and read as none) map like any other.
 */
#include "slo_verdicts.h"

#include <string.h>

#include "ag_mem.h"
#include "slo_codec.h"

#define VD_MINUTE_MS 60000ull
#define CELL_NONE 0u
#define CELL_GOOD 1u
#define CELL_BAD 2u

struct vd_sum {
    uint64_t k;     /* periods in the lookback */
    uint64_t good;  /* good periods among the last k */
    uint64_t total; /* good or bad periods among the last k */
};

struct slo_verdicts {
    uint64_t period_ms;
    uint64_t n;     /* cells: W / p */
    int64_t end;    /* the end of the last recorded period */
    uint64_t head;  /* the cell of the period starting at |end| (idx_of(end)), kept as the
                     * clock moves: the hot path divides nothing */
    size_t n_sums;  /* sums[0] is the window */
    struct vd_sum sums[SLO_WINDOW_MAX_LOOKBACKS + 1];
    uint8_t *cells; /* (n + 3) / 4 bytes, 4 cells per byte, cell i at bits 2 (i % 4) */
};

static size_t cell_bytes(uint64_t n)
{
    return (size_t)((n + 3) / 4);
}

static uint64_t idx_of(const struct slo_verdicts *v, int64_t s)
{
    int64_t q = s / (int64_t)v->period_ms; /* s is a multiple of p: exact */
    int64_t m = q % (int64_t)v->n;
    return (uint64_t)(m < 0 ? m + (int64_t)v->n : m);
}

static unsigned cell_get(const struct slo_verdicts *v, uint64_t i)
{
    return (v->cells[i / 4] >> (2 * (i % 4))) & 3u;
}

static void cell_set(struct slo_verdicts *v, uint64_t i, unsigned c)
{
    uint8_t *b = &v->cells[i / 4];
    unsigned sh = (unsigned)(2 * (i % 4));
    *b = (uint8_t)((*b & ~(3u << sh)) | (c << sh));
}

int slo_verdicts_new(const struct slo_verdicts_config *cfg, int64_t start_ms,
                     struct slo_verdicts **out)
{
    *out = NULL;
    const uint64_t p = cfg->period_ms, w = cfg->window_ms;
    if (start_ms < 0 || start_ms > SLO_TIME_MAX_MS || p == 0 || w == 0 ||
        w % VD_MINUTE_MS != 0 || w > SLO_WINDOW_MAX_MS || w % p != 0 ||
        cfg->n_lookbacks > SLO_WINDOW_MAX_LOOKBACKS ||
        (cfg->n_lookbacks > 0 && cfg->lookbacks_ms == NULL)) {
        return AG_EINVAL;
    }
    for (size_t i = 0; i < cfg->n_lookbacks; i++) {
        uint64_t l = cfg->lookbacks_ms[i];
        if (l == 0 || l % VD_MINUTE_MS != 0 || l > w || l % p != 0) {
            return AG_EINVAL;
        }
    }
    size_t cap = cfg->max_bytes != 0 ? cfg->max_bytes : SLO_WINDOW_MAX_BYTES;
    uint64_t n = w / p;
    if (n > SIZE_MAX / 2 || sizeof(struct slo_verdicts) + cell_bytes(n) > cap) {
        return AG_ETOOBIG;
    }
    struct slo_verdicts *v = ag_calloc(1, sizeof(*v));
    if (v == NULL) {
        return AG_ENOMEM;
    }
    v->cells = ag_calloc(cell_bytes(n), 1);
    if (v->cells == NULL) {
        ag_free(v);
        return AG_ENOMEM;
    }
    v->period_ms = p;
    v->n = n;
    v->end = start_ms - start_ms % (int64_t)p;
    v->head = idx_of(v, v->end);
    v->sums[0].k = n;
    v->n_sums = 1 + cfg->n_lookbacks;
    for (size_t i = 0; i < cfg->n_lookbacks; i++) {
        v->sums[1 + i].k = cfg->lookbacks_ms[i] / p;
    }
    *out = v;
    return 0;
}

void slo_verdicts_free(struct slo_verdicts *v)
{
    if (v == NULL) {
        return;
    }
    ag_free(v->cells);
    ag_free(v);
}

size_t slo_verdicts_bytes(const struct slo_verdicts *v)
{
    return sizeof(*v) + cell_bytes(v->n);
}

/* Records cell |c| for the period at the clock and moves the clock on. */
static void push(struct slo_verdicts *v, unsigned c)
{
    /* Each lookback loses the period k back (read before the write: for k = n it is the
     * cell being replaced); k <= n. */
    for (size_t i = 0; i < v->n_sums; i++) {
        struct vd_sum *s = &v->sums[i];
        unsigned old = cell_get(v, v->head >= s->k ? v->head - s->k : v->head + v->n - s->k);
        s->good -= old == CELL_GOOD;
        s->total -= old != CELL_NONE;
        s->good += c == CELL_GOOD;
        s->total += c != CELL_NONE;
    }
    cell_set(v, v->head, c);
    v->head = v->head + 1 == v->n ? 0 : v->head + 1;
    v->end += (int64_t)v->period_ms;
}

int slo_verdicts_put(struct slo_verdicts *v, int64_t start_ms, enum slo_slice_verdict verdict)
{
    if (start_ms != v->end || v->end > SLO_TIME_MAX_MS) {
        return AG_EINVAL;
    }
    push(v, verdict == SLO_SLICE_GOOD  ? CELL_GOOD
            : verdict == SLO_SLICE_BAD ? CELL_BAD
                                       : CELL_NONE);
    return 0;
}

static void clear(struct slo_verdicts *v)
{
    memset(v->cells, 0, cell_bytes(v->n));
    for (size_t i = 0; i < v->n_sums; i++) {
        v->sums[i].good = v->sums[i].total = 0;
    }
}

void slo_verdicts_advance(struct slo_verdicts *v, int64_t t_ms)
{
    if (t_ms > SLO_TIME_MAX_MS) {
        t_ms = SLO_TIME_MAX_MS;
    }
    const int64_t p = (int64_t)v->period_ms;
    int64_t to = t_ms - t_ms % p;
    if (to <= v->end) {
        return;
    }
    uint64_t gap = (uint64_t)(to - v->end) / v->period_ms;
    if (gap >= v->n) {
        clear(v);
        v->end = to;
        v->head = idx_of(v, to);
        return;
    }
    while (v->end < to) {
        push(v, CELL_NONE);
    }
}

int slo_verdicts_counts(const struct slo_verdicts *v, uint64_t lookback_ms,
                        struct slo_counts *out)
{
    memset(out, 0, sizeof(*out));
    if (lookback_ms == 0 || lookback_ms % v->period_ms != 0) {
        return AG_ENOTFOUND;
    }
    uint64_t k = lookback_ms / v->period_ms;
    for (size_t i = 0; i < v->n_sums; i++) {
        if (v->sums[i].k == k) {
            out->good = v->sums[i].good;
            out->total = v->sums[i].total;
            return 0;
        }
    }
    return AG_ENOTFOUND;
}

void slo_verdicts_range(const struct slo_verdicts *v, int64_t from_ms, int64_t to_ms,
                        struct slo_counts *out)
{
    const int64_t p = (int64_t)v->period_ms;
    memset(out, 0, sizeof(*out));
    int64_t lo = v->end - (int64_t)v->n * p;
    if (lo < 0) {
        lo = 0; /* nothing before the epoch is ever recorded */
    }
    if (from_ms > lo) {
        lo = from_ms % p == 0 ? from_ms : from_ms - from_ms % p + p; /* from_ms > 0 here */
    }
    int64_t hi = to_ms < v->end ? to_ms : v->end; /* periods ending at or before hi */
    uint64_t i = lo + p <= hi ? idx_of(v, lo) : 0;
    for (int64_t s = lo; s + p <= hi; s += p) {
        unsigned c = cell_get(v, i);
        out->good += c == CELL_GOOD;
        out->total += c != CELL_NONE;
        i = i + 1 == v->n ? 0 : i + 1;
    }
}

int64_t slo_verdicts_end(const struct slo_verdicts *v)
{
    return v->end;
}

int slo_verdicts_reset(struct slo_verdicts *v, int64_t end_ms)
{
    if (end_ms < 0 || end_ms > SLO_TIME_MAX_MS || end_ms % (int64_t)v->period_ms != 0) {
        return AG_EINVAL;
    }
    clear(v);
    v->end = end_ms;
    v->head = idx_of(v, end_ms);
    return 0;
}

void slo_verdicts_save(const struct slo_verdicts *v, struct slo_wr *w)
{
    slo_put_i64(w, v->end);
    slo_put_u64(w, v->n);
    slo_put_bytes(w, v->cells, cell_bytes(v->n));
}

int slo_verdicts_load(struct slo_verdicts *v, struct slo_rd *r)
{
    int64_t end = slo_get_i64(r);
    if (slo_get_u64(r) != v->n || r->bad || end < 0 || end > SLO_TIME_MAX_MS ||
        end % (int64_t)v->period_ms != 0 || !slo_get_bytes(r, v->cells, cell_bytes(v->n))) {
        r->bad = true;
        return AG_EPROTO;
    }
    for (uint64_t i = 0; i < v->n; i++) {
        if (cell_get(v, i) == 3u) {
            return AG_EPROTO;
        }
    }
    if (v->n % 4 != 0 && (v->cells[v->n / 4] >> (2 * (v->n % 4))) != 0) {
        return AG_EPROTO; /* padding bits past the last cell */
    }
    v->end = end;
    v->head = idx_of(v, end);
    /* Periods before the epoch were never recorded: their cells must be none. */
    const int64_t p = (int64_t)v->period_ms;
    for (int64_t s = end - (int64_t)v->n * p; s < 0 && s < end; s += p) {
        if (cell_get(v, idx_of(v, s)) != CELL_NONE) {
            return AG_EPROTO;
        }
    }
    /* The running sums, recounted from the cells: newest first, each lookback its last k. */
    for (size_t i = 0; i < v->n_sums; i++) {
        v->sums[i].good = v->sums[i].total = 0;
    }
    for (uint64_t age = 1; age <= v->n; age++) {
        unsigned c = cell_get(v, idx_of(v, end - (int64_t)age * p));
        if (c == CELL_NONE) {
            continue;
        }
        for (size_t i = 0; i < v->n_sums; i++) {
            if (age <= v->sums[i].k) {
                v->sums[i].good += c == CELL_GOOD;
                v->sums[i].total++;
            }
        }
    }
    return 0;
}
