/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rolling SLI windows: (good, total) counts in epoch-aligned bucket rings with a running sum per
 * lookback, so an update and a bucket close are O(1) and no window is ever rescanned
 * (specs/slo.md §10.2). Also the per-period verdict with its missing-data policy and calendar
 * period boundaries for UTC and fixed offsets. Pure logic: the caller supplies every time.
 */
#include "slo_window.h"

#include <string.h>

#include "ag_mem.h"
#include "slo_codec.h"
#include "slo_tz.h"

#define MINUTE_MS 60000ull
#define FINE_SPAN_MS (3ull * 86400 * 1000) /* lookbacks up to 3 days stay at 1 minute */

struct slot {
    uint32_t good;
    uint32_t total;
};

struct lookback {
    uint64_t ms;
    uint32_t k; /* buckets */
    uint64_t good;
    uint64_t total; /* sums of the k newest closed buckets */
};

struct layer {
    uint64_t width_ms;
    uint32_t cap;       /* k_max + 1: the open bucket and k_max closed ones */
    uint32_t open_idx;  /* slot of the open bucket */
    int64_t open_start; /* start of the open bucket (Unix ms, a multiple of width_ms) */
    struct slot *slots;
    size_t n_lb;
    struct lookback lb[SLO_WINDOW_MAX_LOOKBACKS + 1];
};

struct slo_window {
    int64_t now;
    size_t n_layers;
    struct layer layers[2];
    struct slo_window_stats stats;
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t bucket_start(int64_t t, uint64_t width)
{
    return floor_div(t, (int64_t)width) * (int64_t)width;
}

static size_t layer_bytes(uint64_t span_ms, uint64_t width_ms)
{
    return (size_t)(span_ms / width_ms + 1) * sizeof(struct slot);
}

/* Plans the layers: returns 0, the number of layers in |*n| and each layer's width and span. */
static int plan(const struct slo_window_config *cfg, size_t cap_bytes, uint64_t widths[2],
                uint64_t spans[2], size_t *n)
{
    static const uint64_t coarse[] = {5, 10, 15, 30, 60};
    size_t budget = cap_bytes > sizeof(struct slo_window) ? cap_bytes - sizeof(struct slo_window)
                                                          : 0;
    uint64_t w = cfg->window_ms;
    if (cfg->bucket_ms != 0) {
        if (w % cfg->bucket_ms != 0) {
            return AG_EINVAL;
        }
        if (layer_bytes(w, cfg->bucket_ms) > budget) {
            return AG_ETOOBIG;
        }
        widths[0] = cfg->bucket_ms;
        spans[0] = w;
        *n = 1;
        return 0;
    }
    if (layer_bytes(w, MINUTE_MS) <= budget) {
        widths[0] = MINUTE_MS;
        spans[0] = w;
        *n = 1;
        return 0;
    }
    uint64_t fine_span = 0;
    for (size_t i = 0; i < cfg->n_lookbacks; i++) {
        uint64_t l = cfg->lookbacks_ms[i];
        if (l <= FINE_SPAN_MS && l > fine_span) {
            fine_span = l;
        }
    }
    size_t fine_bytes = fine_span ? layer_bytes(fine_span, MINUTE_MS) : 0;
    for (size_t c = 0; c < sizeof(coarse) / sizeof(coarse[0]); c++) {
        uint64_t width = coarse[c] * MINUTE_MS;
        bool divides = w % width == 0;
        for (size_t i = 0; i < cfg->n_lookbacks && divides; i++) {
            uint64_t l = cfg->lookbacks_ms[i];
            divides = l <= FINE_SPAN_MS || l % width == 0;
        }
        if (divides && fine_bytes + layer_bytes(w, width) <= budget) {
            size_t k = 0;
            if (fine_span) {
                widths[k] = MINUTE_MS;
                spans[k++] = fine_span;
            }
            widths[k] = width;
            spans[k++] = w;
            *n = k;
            return 0;
        }
    }
    return AG_ETOOBIG;
}

static int add_lookback(struct layer *ly, uint64_t ms, uint64_t min_k)
{
    for (size_t i = 0; i < ly->n_lb; i++) {
        if (ly->lb[i].ms == ms) {
            return 0;
        }
    }
    if (ms % ly->width_ms != 0 || ms / ly->width_ms < min_k) {
        return AG_EINVAL;
    }
    struct lookback *lb = &ly->lb[ly->n_lb++];
    memset(lb, 0, sizeof(*lb));
    lb->ms = ms;
    lb->k = (uint32_t)(ms / ly->width_ms);
    return 0;
}

int slo_window_new(const struct slo_window_config *cfg, int64_t start_ms, struct slo_window **out)
{
    struct slo_window *w = NULL;
    uint64_t widths[2], spans[2];
    size_t n = 0;
    int rc;

    *out = NULL;
    if (start_ms < 0 || start_ms > SLO_TIME_MAX_MS || cfg->window_ms == 0 ||
        cfg->window_ms % MINUTE_MS != 0 ||
        cfg->window_ms > SLO_WINDOW_MAX_MS || cfg->n_lookbacks > SLO_WINDOW_MAX_LOOKBACKS ||
        (cfg->n_lookbacks > 0 && cfg->lookbacks_ms == NULL)) {
        return AG_EINVAL;
    }
    for (size_t i = 0; i < cfg->n_lookbacks; i++) {
        uint64_t l = cfg->lookbacks_ms[i];
        if (l == 0 || l % MINUTE_MS != 0 || l > cfg->window_ms) {
            return AG_EINVAL;
        }
    }
    rc = plan(cfg, cfg->max_bytes ? cfg->max_bytes : SLO_WINDOW_MAX_BYTES, widths, spans, &n);
    if (rc != 0) {
        return rc;
    }
    w = ag_calloc(1, sizeof(*w));
    if (w == NULL) {
        return AG_ENOMEM;
    }
    w->now = start_ms;
    w->n_layers = n;
    for (size_t i = 0; i < n; i++) {
        struct layer *ly = &w->layers[i];
        ly->width_ms = widths[i];
        ly->cap = (uint32_t)(spans[i] / widths[i] + 1);
        ly->open_start = bucket_start(start_ms, widths[i]);
        ly->slots = ag_calloc(ly->cap, sizeof(struct slot));
        if (ly->slots == NULL) {
            rc = AG_ENOMEM;
            goto out;
        }
    }
    /* W lives in the last (coarsest) layer; each lookback in the finest layer spanning it. */
    /* Lookbacks of one bucket make sense for explicit periods (Timeslices) only. */
    uint64_t min_k = cfg->bucket_ms != 0 ? 1 : 2;
    rc = add_lookback(&w->layers[n - 1], cfg->window_ms, min_k);
    for (size_t i = 0; i < cfg->n_lookbacks && rc == 0; i++) {
        uint64_t l = cfg->lookbacks_ms[i];
        struct layer *ly = &w->layers[n - 1];
        if (n == 2 && l <= spans[0]) {
            ly = &w->layers[0];
        }
        rc = add_lookback(ly, l, min_k);
    }
out:
    if (rc != 0) {
        slo_window_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void slo_window_free(struct slo_window *w)
{
    if (w == NULL) {
        return;
    }
    for (size_t i = 0; i < w->n_layers; i++) {
        ag_free(w->layers[i].slots);
    }
    ag_free(w);
}

static uint32_t slot_back(const struct layer *ly, uint32_t age)
{
    /* age <= cap: one conditional instead of a division (this runs per close per lookback) */
    return ly->open_idx >= age ? ly->open_idx - age : ly->open_idx + ly->cap - age;
}

static void layer_close_one(struct layer *ly)
{
    const struct slot *open = &ly->slots[ly->open_idx];
    for (size_t j = 0; j < ly->n_lb; j++) {
        struct lookback *lb = &ly->lb[j];
        const struct slot *leaving = &ly->slots[slot_back(ly, lb->k)];
        lb->good += open->good;
        lb->total += open->total;
        lb->good -= leaving->good;
        lb->total -= leaving->total;
    }
    ly->open_idx = ly->open_idx + 1 == ly->cap ? 0 : ly->open_idx + 1;
    memset(&ly->slots[ly->open_idx], 0, sizeof(struct slot));
    ly->open_start += (int64_t)ly->width_ms;
}

static void layer_advance(struct layer *ly, int64_t t)
{
    /* open_start is a multiple of width_ms: bucket_start(t) <= open_start exactly when t is
     * below the open bucket's end, so the common case needs no division. */
    if (t - ly->open_start < (int64_t)ly->width_ms) {
        return;
    }
    int64_t target = bucket_start(t, ly->width_ms);
    if (target <= ly->open_start) {
        return;
    }
    uint64_t steps = (uint64_t)(target - ly->open_start) / ly->width_ms;
    if (steps >= ly->cap) {
        /* Every bucket and sum leaves the rings: clear them in one pass. */
        memset(ly->slots, 0, (size_t)ly->cap * sizeof(struct slot));
        for (size_t j = 0; j < ly->n_lb; j++) {
            ly->lb[j].good = 0;
            ly->lb[j].total = 0;
        }
        ly->open_idx = 0;
        ly->open_start = target;
        return;
    }
    while (steps-- > 0) {
        layer_close_one(ly);
    }
}

void slo_window_advance(struct slo_window *w, int64_t now_ms)
{
    if (now_ms > SLO_TIME_MAX_MS) {
        now_ms = SLO_TIME_MAX_MS;
    }
    if (now_ms <= w->now) {
        return;
    }
    w->now = now_ms;
    for (size_t i = 0; i < w->n_layers; i++) {
        layer_advance(&w->layers[i], now_ms);
    }
}

/* The slot |t| falls in, its age (0 = open) through |*age|, or NULL when older than the ring. */
static struct slot *layer_slot(struct layer *ly, int64_t t, uint32_t *age)
{
    /* Fast path, no division: t inside the open bucket [open_start, open_start + width). */
    if (t >= ly->open_start && t - ly->open_start < (int64_t)ly->width_ms) {
        *age = 0;
        return &ly->slots[ly->open_idx];
    }
    int64_t s = bucket_start(t, ly->width_ms);
    uint64_t a = (uint64_t)(ly->open_start - s) / ly->width_ms;
    if (a >= ly->cap) {
        return NULL;
    }
    *age = (uint32_t)a;
    return &ly->slots[slot_back(ly, (uint32_t)a)];
}

int slo_window_add(struct slo_window *w, int64_t t_ms, uint64_t good, uint64_t total)
{
    struct slot *slots[2] = {NULL, NULL};
    uint32_t ages[2] = {0, 0};
    bool any = false;

    if (good > total || t_ms < 0 || t_ms > SLO_TIME_MAX_MS) {
        return AG_EINVAL;
    }
    slo_window_advance(w, t_ms);
    /* Check every layer before touching one, so a refusal leaves all counts unchanged. */
    for (size_t i = 0; i < w->n_layers; i++) {
        slots[i] = layer_slot(&w->layers[i], t_ms, &ages[i]);
        if (slots[i] != NULL) {
            any = true;
            if (total > UINT32_MAX - slots[i]->total) {
                w->stats.overflow++;
                return AG_ETOOBIG;
            }
        }
    }
    if (!any) {
        w->stats.too_old++;
        return 0;
    }
    bool late = false;
    for (size_t i = 0; i < w->n_layers; i++) {
        if (slots[i] == NULL) {
            continue;
        }
        slots[i]->good += (uint32_t)good;
        slots[i]->total += (uint32_t)total;
        if (ages[i] == 0) {
            continue;
        }
        late = true;
        struct layer *ly = &w->layers[i];
        for (size_t j = 0; j < ly->n_lb; j++) {
            if (ly->lb[j].k >= ages[i]) {
                ly->lb[j].good += good;
                ly->lb[j].total += total;
            }
        }
    }
    if (late) {
        w->stats.late++;
    }
    return 0;
}

static const struct layer *find_lookback(const struct slo_window *w, uint64_t ms,
                                         const struct lookback **out)
{
    for (size_t i = 0; i < w->n_layers; i++) {
        const struct layer *ly = &w->layers[i];
        for (size_t j = 0; j < ly->n_lb; j++) {
            if (ly->lb[j].ms == ms) {
                *out = &ly->lb[j];
                return ly;
            }
        }
    }
    return NULL;
}

int slo_window_counts(const struct slo_window *w, uint64_t lookback_ms, struct slo_counts *out)
{
    const struct lookback *lb = NULL;
    const struct layer *ly = find_lookback(w, lookback_ms, &lb);
    memset(out, 0, sizeof(*out));
    if (ly == NULL) {
        return AG_ENOTFOUND;
    }
    out->good = lb->good;
    out->total = lb->total;
    if (w->now > ly->open_start) {
        /* Between boundaries the oldest of the k buckets starts before now - L: not whole. */
        const struct slot *oldest = &ly->slots[slot_back(ly, lb->k)];
        out->good -= oldest->good;
        out->total -= oldest->total;
    }
    return 0;
}

int slo_window_range(const struct slo_window *w, uint64_t lookback_ms, int64_t from_ms,
                     int64_t to_ms, struct slo_counts *out)
{
    const struct lookback *lb = NULL;
    const struct layer *ly = find_lookback(w, lookback_ms, &lb);
    memset(out, 0, sizeof(*out));
    if (ly == NULL) {
        return AG_ENOTFOUND;
    }
    const int64_t p = (int64_t)ly->width_ms;
    /* Closed buckets held: starts in [open_start - (cap - 1) p, open_start). */
    int64_t lo = ly->open_start - (int64_t)(ly->cap - 1) * p;
    int64_t first = bucket_start(from_ms, ly->width_ms);
    if (first < from_ms) {
        first += p;
    }
    if (first < lo) {
        first = lo;
    }
    int64_t end = to_ms < ly->open_start ? to_ms : ly->open_start;
    for (int64_t s = first; s + p <= end; s += p) {
        const struct slot *sl = &ly->slots[slot_back(ly, (uint32_t)((ly->open_start - s) / p))];
        out->good += sl->good;
        out->total += sl->total;
    }
    return 0;
}

int64_t slo_window_oldest_ms(const struct slo_window *w, uint64_t lookback_ms)
{
    const struct lookback *lb = NULL;
    const struct layer *ly = find_lookback(w, lookback_ms, &lb);
    if (ly == NULL) {
        return -1;
    }
    return ly->open_start - (int64_t)(ly->cap - 1) * (int64_t)ly->width_ms;
}

uint64_t slo_window_resolution_ms(const struct slo_window *w, uint64_t lookback_ms)
{
    const struct lookback *lb = NULL;
    const struct layer *ly = find_lookback(w, lookback_ms, &lb);
    return ly ? ly->width_ms : 0;
}

size_t slo_window_bytes(const struct slo_window *w)
{
    size_t n = sizeof(*w);
    for (size_t i = 0; i < w->n_layers; i++) {
        n += (size_t)w->layers[i].cap * sizeof(struct slot);
    }
    return n;
}

int64_t slo_window_now(const struct slo_window *w)
{
    return w->now;
}

void slo_window_get_stats(const struct slo_window *w, struct slo_window_stats *out)
{
    *out = w->stats;
}

enum slo_slice_verdict slo_slice_judge(uint64_t good, uint64_t total,
                                       const struct slo_decimal *target,
                                       enum slo_missing_policy policy)
{
    if (total == 0) {
        switch (policy) {
        case SLO_MISSING_BAD:
            return SLO_SLICE_BAD;
        case SLO_MISSING_IGNORE:
            return SLO_SLICE_IGNORED;
        case SLO_MISSING_GOOD:
            break;
        }
        return SLO_SLICE_GOOD;
    }
    /* good / total >= num / den <=> good * den >= num * total. */
    return slo_cmp3(good, target->den, 1, target->num, total, 1) >= 0 ? SLO_SLICE_GOOD
                                                                      : SLO_SLICE_BAD;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int slo_calendar_bounds(enum slo_calendar_unit unit, int32_t utc_offset_s, int64_t t_ms,
                        int64_t *start_ms, int64_t *end_ms)
{
    const int64_t day_ms = 86400000;
    *start_ms = 0;
    *end_ms = 0;
    if (utc_offset_s < -18 * 3600 || utc_offset_s > 18 * 3600 || t_ms < 0 ||
        t_ms > SLO_TIME_MAX_MS) {
        return AG_EINVAL;
    }
    int64_t off_ms = (int64_t)utc_offset_s * 1000;
    int64_t local_day = floor_div(t_ms + off_ms, day_ms);
    int64_t y, sy, ey;
    unsigned m, d, sm, em;
    int64_t sday, eday;
    civil_from_days(local_day, &y, &m, &d);
    switch (unit) {
    case SLO_CAL_DAY:
        sday = local_day;
        eday = local_day + 1;
        break;
    case SLO_CAL_WEEK:
        /* 1970-01-01 was a Thursday: Monday-based weekday = (days + 3) mod 7. */
        sday = local_day - (local_day + 3 - floor_div(local_day + 3, 7) * 7);
        eday = sday + 7;
        break;
    case SLO_CAL_MONTH:
    case SLO_CAL_QUARTER:
    case SLO_CAL_YEAR: {
        unsigned months = unit == SLO_CAL_MONTH ? 1 : unit == SLO_CAL_QUARTER ? 3 : 12;
        sy = y;
        sm = (m - 1) / months * months + 1;
        ey = sy;
        em = sm + months;
        if (em > 12) {
            em -= 12;
            ey++;
        }
        sday = days_from_civil(sy, sm, 1);
        eday = days_from_civil(ey, em, 1);
        break;
    }
    default:
        return AG_EINVAL;
    }
    *start_ms = sday * day_ms - off_ms;
    *end_ms = eday * day_ms - off_ms;
    return 0;
}

int slo_calendar_bounds_tz(enum slo_calendar_unit unit, const struct slo_tz *tz,
                           int32_t utc_offset_s, int64_t t_ms, int64_t *start_ms, int64_t *end_ms)
{
    if (tz == NULL) {
        return slo_calendar_bounds(unit, utc_offset_s, t_ms, start_ms, end_ms);
    }
    *start_ms = 0;
    *end_ms = 0;
    if (t_ms < 0 || t_ms > SLO_TIME_MAX_MS) {
        return AG_EINVAL;
    }
    /* slo_tz_bounds refuses SLO_TIME_MAX_MS itself (excluded there): clamp to the last ms. */
    return slo_tz_bounds(tz, unit, t_ms < SLO_TZ_MAX_MS ? t_ms : SLO_TZ_MAX_MS - 1, start_ms,
                         end_ms);
}

/* The period of |c| holding |t|, its boundaries moved down to whole buckets (a no-op for fixed
 * offsets of whole buckets and for zones whose offsets all are). */
static int cal_bounds(const struct slo_calendar *c, int64_t t, int64_t *s, int64_t *e)
{
    int rc = slo_calendar_bounds_tz(c->unit, c->tz, c->utc_offset_s, t, s, e);
    if (rc != 0 || c->tz == NULL) {
        return rc;
    }
    *s = bucket_start(*s, c->bucket_ms);
    *e = bucket_start(*e, c->bucket_ms);
    if (t >= *e) {
        /* |t| is in the bucket holding the next boundary: that bucket opens the next period. */
        int64_t s2, e2;
        rc = slo_calendar_bounds_tz(c->unit, c->tz, c->utc_offset_s, *e + (int64_t)c->bucket_ms,
                                    &s2, &e2);
        if (rc == 0) {
            *s = bucket_start(*e, c->bucket_ms);
            *e = bucket_start(e2, c->bucket_ms);
        }
    }
    return rc;
}

int slo_calendar_init(struct slo_calendar *c, enum slo_calendar_unit unit, int32_t utc_offset_s,
                      uint64_t bucket_ms, int64_t now_ms)
{
    return slo_calendar_init_tz(c, unit, NULL, utc_offset_s, bucket_ms, now_ms);
}

int slo_calendar_init_tz(struct slo_calendar *c, enum slo_calendar_unit unit,
                         const struct slo_tz *tz, int32_t utc_offset_s, uint64_t bucket_ms,
                         int64_t now_ms)
{
    memset(c, 0, sizeof(*c));
    if (bucket_ms == 0) {
        bucket_ms = MINUTE_MS;
    }
    if (bucket_ms > 86400000u || 86400000u % bucket_ms != 0 ||
        ((int64_t)utc_offset_s * 1000) % (int64_t)bucket_ms != 0) {
        return AG_EINVAL;
    }
    int rc = slo_calendar_bounds_tz(unit, tz, utc_offset_s, now_ms, &c->start_ms, &c->end_ms);
    if (rc == 0 && (c->start_ms % (int64_t)bucket_ms != 0 || c->end_ms % (int64_t)bucket_ms != 0)) {
        rc = AG_EINVAL;
    }
    if (rc != 0) {
        memset(c, 0, sizeof(*c));
        return rc;
    }
    c->unit = unit;
    c->tz = tz;
    c->utc_offset_s = utc_offset_s;
    c->bucket_ms = bucket_ms;
    c->clock = now_ms;
    c->open_start = bucket_start(now_ms, bucket_ms);
    return 0;
}

static void counts_add(struct slo_counts *a, const struct slo_counts *b)
{
    a->good += b->good;
    a->total += b->total;
}

void slo_calendar_advance(struct slo_calendar *c, int64_t now_ms)
{
    if (now_ms > SLO_TIME_MAX_MS) {
        now_ms = SLO_TIME_MAX_MS;
    }
    if (now_ms <= c->clock) {
        return;
    }
    c->clock = now_ms;
    if (now_ms >= c->end_ms) {
        /* The period is over: its open bucket ended at or before its end, so it is whole. */
        int64_t s, e;
        struct slo_counts last = c->closed;
        counts_add(&last, &c->open);
        if (cal_bounds(c, now_ms, &s, &e) != 0) {
            return; /* unreachable: now_ms and the zone were validated */
        }
        c->has_prev = true;
        if (s == c->end_ms) {
            c->prev = last;
            c->prev_start_ms = c->start_ms;
            c->prev_end_ms = c->end_ms;
        } else if (cal_bounds(c, s - 1, &c->prev_start_ms, &c->prev_end_ms) == 0) {
            /* Whole periods were skipped: the previous one saw nothing. */
            memset(&c->prev, 0, sizeof(c->prev));
        }
        c->start_ms = s;
        c->end_ms = e;
        memset(&c->closed, 0, sizeof(c->closed));
        memset(&c->open, 0, sizeof(c->open));
        c->open_start = bucket_start(now_ms, c->bucket_ms);
        return;
    }
    int64_t b = bucket_start(now_ms, c->bucket_ms);
    if (b > c->open_start) {
        counts_add(&c->closed, &c->open);
        memset(&c->open, 0, sizeof(c->open));
        c->open_start = b;
    }
}

int slo_calendar_add(struct slo_calendar *c, int64_t t_ms, uint64_t good, uint64_t total)
{
    struct slo_counts *dst;
    if (good > total || t_ms < 0 || t_ms > SLO_TIME_MAX_MS) {
        return AG_EINVAL;
    }
    slo_calendar_advance(c, t_ms);
    if (t_ms >= c->open_start) {
        dst = &c->open;
    } else if (t_ms >= c->start_ms) {
        dst = &c->closed;
        c->stats.late++;
    } else if (c->has_prev && t_ms >= c->prev_start_ms) {
        dst = &c->prev;
        c->stats.late++;
    } else {
        c->stats.too_old++;
        return 0;
    }
    if (dst->total + total < total) {
        c->stats.overflow++;
        return AG_ETOOBIG;
    }
    dst->good += good;
    dst->total += total;
    return 0;
}

void slo_calendar_counts(const struct slo_calendar *c, struct slo_counts *out, int64_t *start_ms,
                         int64_t *end_ms)
{
    /* The open bucket is never whole at the clock: advance() closes it once the clock passes. */
    *out = c->closed;
    if (start_ms != NULL) {
        *start_ms = c->start_ms;
    }
    if (end_ms != NULL) {
        *end_ms = c->end_ms;
    }
}

bool slo_calendar_previous(const struct slo_calendar *c, struct slo_counts *out,
                           int64_t *start_ms, int64_t *end_ms)
{
    memset(out, 0, sizeof(*out));
    if (!c->has_prev) {
        return false;
    }
    *out = c->prev;
    if (start_ms != NULL) {
        *start_ms = c->prev_start_ms;
    }
    if (end_ms != NULL) {
        *end_ms = c->prev_end_ms;
    }
    return true;
}

/* ---- checkpoints ---------------------------------------------------------------------------- */

static void stats_save(const struct slo_window_stats *st, struct slo_wr *o)
{
    slo_put_u64(o, st->late);
    slo_put_u64(o, st->too_old);
    slo_put_u64(o, st->overflow);
}

static void stats_load(struct slo_window_stats *st, struct slo_rd *r)
{
    st->late = slo_get_u64(r);
    st->too_old = slo_get_u64(r);
    st->overflow = slo_get_u64(r);
}

void slo_window_save(const struct slo_window *w, struct slo_wr *o)
{
    slo_put_i64(o, w->now);
    slo_put_u64(o, w->n_layers);
    for (size_t i = 0; i < w->n_layers; i++) {
        const struct layer *ly = &w->layers[i];
        slo_put_u64(o, ly->width_ms);
        slo_put_u64(o, ly->cap);
        slo_put_u64(o, ly->n_lb);
        slo_put_u64(o, ly->open_idx);
        slo_put_i64(o, ly->open_start);
        for (size_t j = 0; j < ly->n_lb; j++) {
            slo_put_u64(o, ly->lb[j].ms);
            slo_put_u64(o, ly->lb[j].good);
            slo_put_u64(o, ly->lb[j].total);
        }
        for (uint32_t k = 0; k < ly->cap; k++) {
            slo_put_u64(o, (uint64_t)ly->slots[k].good << 32 | ly->slots[k].total);
        }
    }
    stats_save(&w->stats, o);
}

int slo_window_load(struct slo_window *w, struct slo_rd *r)
{
    int64_t now = slo_get_i64(r);
    if (slo_get_u64(r) != w->n_layers || now < 0 || now > SLO_TIME_MAX_MS) {
        return AG_EPROTO;
    }
    w->now = now;
    for (size_t i = 0; i < w->n_layers && !r->bad; i++) {
        struct layer *ly = &w->layers[i];
        if (slo_get_u64(r) != ly->width_ms || slo_get_u64(r) != ly->cap ||
            slo_get_u64(r) != ly->n_lb) {
            return AG_EPROTO;
        }
        uint64_t open_idx = slo_get_u64(r);
        int64_t open_start = slo_get_i64(r);
        if (open_idx >= ly->cap || open_start % (int64_t)ly->width_ms != 0 ||
            open_start > now || now - open_start >= (int64_t)ly->width_ms) {
            return AG_EPROTO;
        }
        ly->open_idx = (uint32_t)open_idx;
        ly->open_start = open_start;
        for (size_t j = 0; j < ly->n_lb; j++) {
            if (slo_get_u64(r) != ly->lb[j].ms) {
                return AG_EPROTO;
            }
            ly->lb[j].good = slo_get_u64(r);
            ly->lb[j].total = slo_get_u64(r);
        }
        for (uint32_t k = 0; k < ly->cap; k++) {
            uint64_t v = slo_get_u64(r);
            ly->slots[k].good = (uint32_t)(v >> 32);
            ly->slots[k].total = (uint32_t)v;
            if (ly->slots[k].good > ly->slots[k].total) {
                return AG_EPROTO;
            }
        }
        /* Every running sum must be the sum of its k newest closed buckets. */
        for (size_t j = 0; j < ly->n_lb && !r->bad; j++) {
            uint64_t g = 0, t = 0;
            for (uint32_t a = 1; a <= ly->lb[j].k; a++) {
                g += ly->slots[slot_back(ly, a)].good;
                t += ly->slots[slot_back(ly, a)].total;
            }
            if (g != ly->lb[j].good || t != ly->lb[j].total) {
                return AG_EPROTO;
            }
        }
    }
    stats_load(&w->stats, r);
    return r->bad ? AG_EPROTO : 0;
}

static void counts_save(const struct slo_counts *c, struct slo_wr *o)
{
    slo_put_u64(o, c->good);
    slo_put_u64(o, c->total);
}

static bool counts_load(struct slo_counts *c, struct slo_rd *r)
{
    c->good = slo_get_u64(r);
    c->total = slo_get_u64(r);
    return c->good <= c->total;
}

void slo_calendar_save(const struct slo_calendar *c, struct slo_wr *o)
{
    slo_put_u64(o, (uint64_t)c->unit);
    slo_put_i64(o, c->utc_offset_s);
    slo_put_u64(o, c->bucket_ms);
    slo_put_i64(o, c->clock);
    slo_put_i64(o, c->start_ms);
    slo_put_i64(o, c->open_start);
    counts_save(&c->open, o);
    counts_save(&c->closed, o);
    slo_put_u64(o, c->has_prev);
    slo_put_i64(o, c->prev_start_ms);
    counts_save(&c->prev, o);
    stats_save(&c->stats, o);
}

int slo_calendar_load(struct slo_calendar *c, struct slo_rd *r)
{
    struct slo_calendar n = *c;
    if (slo_get_u64(r) != (uint64_t)c->unit || slo_get_i64(r) != c->utc_offset_s ||
        slo_get_u64(r) != c->bucket_ms) {
        return AG_EPROTO;
    }
    n.clock = slo_get_i64(r);
    n.start_ms = slo_get_i64(r);
    n.open_start = slo_get_i64(r);
    bool ok = counts_load(&n.open, r) && counts_load(&n.closed, r);
    uint64_t hp = slo_get_u64(r);
    n.prev_start_ms = slo_get_i64(r);
    ok &= counts_load(&n.prev, r);
    stats_load(&n.stats, r);
    int64_t s = 0, e = 0, ps = 0, pe = 0;
    if (r->bad || !ok || hp > 1 || n.clock < 0 || n.clock > SLO_TIME_MAX_MS ||
        cal_bounds(c, n.clock, &s, &e) != 0 || s != n.start_ms ||
        n.open_start != bucket_start(n.clock, c->bucket_ms) ||
        (hp && (n.prev_start_ms < 0 ||
                cal_bounds(c, n.prev_start_ms, &ps, &pe) != 0 ||
                ps != n.prev_start_ms || pe > s))) {
        return AG_EPROTO;
    }
    if (n.open_start < n.start_ms) {
        n.open_start = n.start_ms; /* unreachable for offsets of whole buckets */
    }
    n.end_ms = e;
    n.has_prev = hp != 0;
    n.prev_end_ms = hp ? pe : 0;
    *c = n;
    return 0;
}
