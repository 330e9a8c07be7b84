/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Engine checkpoints (specs/slo.md §10.1): slo_engine_save() and slo_engine_restore().
 *
 * Layout, little-endian (slo_codec.h):
 *   "OTSLOCKP"  magic, 8 bytes
 *   u64         format version (4; versions 1 to 3 are still read: 1 had no resolve times,
 *               1 and 2 kept a Timeslices SLO's judged periods as a slo_window of u32 pairs,
 *               converted to 2-bit verdicts on restore; before 4 calendar SLOs had no
 *               burn-down milestones)
 *   u64         fingerprint of the definitions (FNV-1a 64 over what shapes the state)
 *   u64         number of SLOs
 *   i64         engine clock
 *   per SLO:    kind, number of alerts, clock, start, gap start, gap end, from version 2 a
 *               u64 of flags (bit 0: the state before start was lost), per alert a u64
 *               (firing) and, from version 2, an i64 (its last resolve, -1 for never: the
 *               cool-down), then the state of its window / slices / calendar; a quarter or
 *               year RatioTimeslices SLO then its accumulator of folded slices (acc_save); an
 *               SLO with budgetDrop conditions then its ring of budget samples (drop_save; no
 *               version change: older checkpoints had no such conditions, and the alert kind
 *               is in the fingerprint, so no older checkpoint matches definitions that have one);
 *               from version 4 a calendar SLO then its burn-down milestones (cb_save)
 *   u64 + bytes the caller's extra bytes
 *   u64         CRC-32C (Castagnoli) of everything before it
 * A restore decodes into a scratch engine and swaps it in only when everything checked out, so
 * a refused checkpoint leaves the engine as it was.
 */
#include <math.h>
#include <string.h>

#include "ag_mem.h"
#include "slo_codec.h"
#include "slo_eval.h"
#include "slo_eval_int.h"

#define MAGIC "OTSLOCKP"
#define VERSION       4u
#define HEADER_BYTES (8 + 8 + 8 + 8 + 8)
#define TRAILER_BYTES 8

static uint32_t crc_table[256];
static bool crc_ready;

static uint32_t crc32c(const uint8_t *p, size_t n)
{
    if (!crc_ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            }
            crc_table[i] = c;
        }
        crc_ready = true;
    }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

uint32_t slo_eval_crc32c(const void *data, size_t len)
{
    return crc32c(data, len);
}

static void fnv(uint64_t *h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        *h ^= p[i];
        *h *= 0x100000001b3ull;
    }
}

static void fnv_u64(uint64_t *h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    fnv(h, b, 8);
}

/* What gives the state its shape and meaning: names, methods, windows, periods, objectives,
 * alert windows. Thresholds and the warning fraction may change across a restart. */
static uint64_t fingerprint(const struct slo_defs *d)
{
    uint64_t h = 0xcbf29ce484222325ull;
    fnv_u64(&h, d->n_slos);
    for (size_t i = 0; i < d->n_slos; i++) {
        const struct slo_slo_def *s = &d->slos[i];
        fnv(&h, s->name, strlen(s->name) + 1);
        fnv_u64(&h, (uint64_t)s->budgeting);
        fnv_u64(&h, s->calendar);
        fnv_u64(&h, s->window_ms);
        fnv_u64(&h, (uint64_t)s->calendar_unit);
        fnv_u64(&h, (uint64_t)(int64_t)s->utc_offset_s);
        if (s->tz_name != NULL) {
            /* The zone's name (its rules may be updated by tzdata across a restart); only when
             * set, so checkpoints of fixed-offset SLOs keep their fingerprint. */
            fnv(&h, "tz", 2);
            fnv(&h, s->tz_name, strlen(s->tz_name) + 1);
        }
        fnv_u64(&h, s->slice_ms);
        fnv_u64(&h, s->slice_target.num);
        fnv_u64(&h, s->slice_target.den);
        if (s->slice_grace_ms > 0) {
            fnv_u64(&h, 0x6772616365ull ^ s->slice_grace_ms); /* "grace": the pending ring's size */
        }
        fnv_u64(&h, (uint64_t)s->missing);
        fnv_u64(&h, s->objective.num);
        fnv_u64(&h, s->objective.den);
        fnv_u64(&h, s->n_alerts);
        for (size_t k = 0; k < s->n_alerts; k++) {
            fnv(&h, s->alerts[k].name, strlen(s->alerts[k].name) + 1);
            fnv_u64(&h, s->alerts[k].long_ms);
            fnv_u64(&h, s->alerts[k].short_ms);
            if (s->alerts[k].kind != SLO_ALERT_BURN_RATE) {
                fnv_u64(&h, 0x6b696e64u + (uint64_t)s->alerts[k].kind); /* only when not a burn
                                                                        * rate: old fingerprints
                                                                        * stay */
            }
        }
    }
    return h;
}

/* A quarter or year RatioTimeslices accumulator (struct ratio_acc): has, cs, ce, the sum (low
 * then high 64 bits), n, inexact, bad_int, ignored. */
static void acc_save(const struct ratio_acc *a, struct slo_wr *w)
{
    slo_put_u64(w, a->has ? 1u : 0u);
    slo_put_i64(w, a->cs);
    slo_put_i64(w, a->ce);
    slo_put_u64(w, (uint64_t)a->r.sum);
    slo_put_u64(w, (uint64_t)(a->r.sum >> 64));
    slo_put_u64(w, a->r.n);
    slo_put_u64(w, a->r.inexact);
    slo_put_u64(w, a->r.bad_int);
    slo_put_u64(w, a->r.ignored);
}

/*
 * Reads acc_save's fields into |st->acc| (the window already loaded) and checks them: the
 * bounds are the calendar period holding cs, and the folded slices fit in the part of it
 * before the ring (so the evaluation's N - n never goes below 0), the sum at most n ratios of 1.
 * Returns 0 or AG_EPROTO.
 */
static int acc_load(struct slo_state *st, struct slo_rd *r)
{
    struct ratio_acc a;
    memset(&a, 0, sizeof(a));
    uint64_t has = slo_get_u64(r);
    a.cs = slo_get_i64(r);
    a.ce = slo_get_i64(r);
    uint64_t lo = slo_get_u64(r), hi = slo_get_u64(r);
    a.r.sum = ((slo_u128)hi << 64) | lo;
    a.r.n = slo_get_u64(r);
    a.r.inexact = slo_get_u64(r);
    a.r.bad_int = slo_get_u64(r);
    a.r.ignored = slo_get_u64(r);
    if (r->bad || has > 1) {
        return AG_EPROTO;
    }
    a.has = has != 0;
    if (!a.has) {
        if (a.cs != 0 || a.ce != 0 || a.r.sum != 0 || a.r.n != 0 || a.r.inexact != 0 ||
            a.r.bad_int != 0 || a.r.ignored != 0) {
            return AG_EPROTO;
        }
        st->acc = a;
        return 0;
    }
    const struct slo_slo_def *d = st->def;
    int64_t cs = 0, ce = 0;
    if (a.cs < 0 || a.cs > SLO_TIME_MAX_MS ||
        slo_calendar_bounds_tz(d->calendar_unit, d->tz, d->utc_offset_s, a.cs, &cs, &ce) != 0 ||
        cs != a.cs || ce != a.ce) {
        return AG_EPROTO;
    }
    const int64_t p = (int64_t)d->slice_ms;
    int64_t oldest = slo_window_oldest_ms(st->win, st->ring_ms);
    int64_t end = oldest < a.ce ? oldest : a.ce;
    int64_t first = a.cs % p == 0 ? a.cs : a.cs + (p - a.cs % p);
    uint64_t room = end > first ? (uint64_t)((end - first) / p) : 0;
    if (a.r.n > room || a.r.ignored > room - a.r.n || a.r.inexact > a.r.n ||
        a.r.bad_int > a.r.n || a.r.sum > (slo_u128)a.r.n * SLO_RATIO_SCALE) {
        return AG_EPROTO;
    }
    st->acc = a;
    return 0;
}

/*
 * Reads a rolling RatioTimeslices' groups (the fine ring already loaded) and checks that the
 * periods folded are exactly those that left the ring since the engine's start: the last group
 * is the one holding the period before the ring's oldest, or none when no period left it.
 * Returns 0 or AG_EPROTO.
 */
static int groups_load(struct slo_state *st, struct slo_rd *r)
{
    const int64_t p = (int64_t)st->def->slice_ms;
    const int64_t g = (int64_t)slo_groups_width(st->grp);
    int rc = slo_groups_load(st->grp, r, (uint32_t)(g / p));
    if (rc != 0) {
        return rc;
    }
    int64_t oldest = slo_window_oldest_ms(st->win, st->ring_ms);
    int64_t seen = st->start_ms - st->start_ms % p;
    int64_t want = oldest > seen ? (oldest - p) - (oldest - p) % g : -1;
    return slo_groups_last(st->grp) == want ? 0 : AG_EPROTO;
}

/* A calendar SLO's burn-down milestones (struct cal_burn): cs, ce, then each fraction's bits. */
static void cb_save(const struct cal_burn *cb, struct slo_wr *w)
{
    slo_put_i64(w, cb->cs);
    slo_put_i64(w, cb->ce);
    for (size_t k = 0; k < SLO_CAL_MILESTONES; k++) {
        uint64_t bits;
        memcpy(&bits, &cb->frac[k], sizeof(bits));
        slo_put_u64(w, bits);
    }
}

/*
 * Reads cb_save's fields into |st->cb| and checks them: no period, or a calendar period of the
 * SLO not after its clock, whose milestones after the clock were not recorded, each fraction
 * NaN or finite and at most 1 (nothing was ever more than the whole budget). Returns 0 or
 * AG_EPROTO.
 */
static int cb_load(struct slo_state *st, struct slo_rd *r)
{
    struct cal_burn cb;
    memset(&cb, 0, sizeof(cb));
    cb.cs = slo_get_i64(r);
    cb.ce = slo_get_i64(r);
    for (size_t k = 0; k < SLO_CAL_MILESTONES; k++) {
        uint64_t bits = slo_get_u64(r);
        memcpy(&cb.frac[k], &bits, sizeof(bits));
    }
    if (r->bad) {
        return AG_EPROTO;
    }
    const struct slo_slo_def *d = st->def;
    int64_t cs = 0, ce = 0;
    bool none = cb.cs == 0 && cb.ce == 0;
    if (!none &&
        (cb.cs < 0 || cb.cs > st->clock ||
         slo_calendar_bounds_tz(d->calendar_unit, d->tz, d->utc_offset_s, cb.cs, &cs, &ce) != 0 ||
         cs != cb.cs || ce != cb.ce)) {
        return AG_EPROTO;
    }
    for (int k = 1; k <= SLO_CAL_MILESTONES; k++) {
        double f = cb.frac[k - 1];
        if (isnan(f)) {
            continue;
        }
        if (none || !isfinite(f) || f > 1.0 || slo_cal_milestone(cb.cs, cb.ce, k) > st->clock) {
            return AG_EPROTO;
        }
    }
    if (none) {
        for (size_t k = 0; k < SLO_CAL_MILESTONES; k++) {
            cb.frac[k] = NAN;
        }
    }
    cb.next = 0; /* found again by the next move */
    *st->cb = cb;
    return 0;
}

/* The drop ring of an SLO with budgetDrop conditions (struct drop_ring): step, cap, n, the last
 * boundary, then the n samples from the oldest (bad low then high 64 bits, n). */
static void drop_save(const struct drop_ring *d, struct slo_wr *w)
{
    slo_put_u64(w, d->step_ms);
    slo_put_u64(w, d->cap);
    slo_put_u64(w, d->n);
    slo_put_i64(w, d->n > 0 ? d->last : 0);
    const int64_t q = (int64_t)d->step_ms;
    for (size_t k = d->n; k > 0; k--) {
        int64_t t = d->last - (int64_t)(k - 1) * q;
        const struct drop_sample *x = &d->s[(size_t)((uint64_t)(t / q) % d->cap)];
        slo_put_u64(w, (uint64_t)x->bad);
        slo_put_u64(w, (uint64_t)(x->bad >> 64));
        slo_put_u64(w, x->n);
    }
}

/*
 * Reads drop_save's fields into |st->drop| (built by the engine for the same definitions) and
 * checks them: the same step and capacity, the newest sample at the last boundary at or before
 * the SLO's clock (every boundary the clock passed was sampled), none before the epoch, and
 * each sample's bad at most its n units. Returns 0 or AG_EPROTO.
 */
static int drop_load(struct slo_state *st, struct slo_rd *r)
{
    struct drop_ring *d = st->drop;
    uint64_t step = slo_get_u64(r), cap = slo_get_u64(r), n = slo_get_u64(r);
    int64_t last = slo_get_i64(r);
    if (r->bad || step != d->step_ms || cap != d->cap || n > cap) {
        return AG_EPROTO;
    }
    const int64_t q = (int64_t)step;
    if (n > 0 && (last < 0 || last % q != 0 || last > st->clock || st->clock - last >= q ||
                  last - (int64_t)(n - 1) * q < 0)) {
        return AG_EPROTO;
    }
    if (n == 0 && last != 0) {
        return AG_EPROTO;
    }
    d->n = 0;
    for (uint64_t k = n; k > 0; k--) {
        int64_t t = last - (int64_t)(k - 1) * q;
        uint64_t lo = slo_get_u64(r), hi = slo_get_u64(r), units = slo_get_u64(r);
        slo_u128 bad = ((slo_u128)hi << 64) | lo;
        if (r->bad || bad > (slo_u128)units * d->scale) {
            return AG_EPROTO;
        }
        struct drop_sample *x = &d->s[(size_t)((uint64_t)(t / q) % d->cap)];
        x->bad = bad;
        x->n = units;
    }
    d->n = (size_t)n;
    d->last = last;
    return 0;
}

int slo_engine_save(const struct slo_engine *e, const void *extra, size_t extra_len,
                    struct ag_buf *out)
{
    size_t base = out->len;
    struct slo_wr w = {out, 0};
    slo_put_bytes(&w, MAGIC, 8);
    slo_put_u64(&w, VERSION);
    slo_put_u64(&w, fingerprint(e->defs));
    slo_put_u64(&w, e->n);
    slo_put_i64(&w, e->clock);
    for (size_t i = 0; i < e->n; i++) {
        const struct slo_state *st = &e->st[i];
        slo_put_u64(&w, (uint64_t)st->kind);
        slo_put_u64(&w, st->def->n_alerts);
        slo_put_i64(&w, st->clock);
        slo_put_i64(&w, st->start_ms);
        slo_put_i64(&w, st->gap_start);
        slo_put_i64(&w, st->gap_end);
        slo_put_u64(&w, st->lost ? 1u : 0u);
        for (size_t k = 0; k < st->def->n_alerts; k++) {
            slo_put_u64(&w, st->firing[k]);
            slo_put_i64(&w, st->last_resolve[k]);
        }
        switch (st->kind) {
        case ST_OCC_ROLL:
            slo_window_save(st->win, &w);
            break;
        case ST_RATIO_ROLL:
            slo_window_save(st->win, &w);
            if (st->grp != NULL) {
                slo_groups_save(st->grp, &w);
            }
            break;
        case ST_RATIO_CAL:
            slo_window_save(st->win, &w);
            if (st->fold) {
                acc_save(&st->acc, &w);
            }
            break;
        case ST_OCC_CAL:
            slo_calendar_save(&st->cal, &w);
            slo_window_save(st->win, &w);
            break;
        case ST_SLICES_ROLL:
        case ST_SLICES_CAL:
            slo_slices_save(st->sl, &w);
            break;
        }
        if (st->drop != NULL) {
            drop_save(st->drop, &w);
        }
        if (st->cb != NULL) {
            cb_save(st->cb, &w);
        }
    }
    slo_put_u64(&w, extra_len);
    slo_put_bytes(&w, extra, extra_len);
    if (w.err == 0) {
        slo_put_u64(&w, crc32c(ag_buf_ptr(out) + base, out->len - base));
    }
    return w.err == 0 ? 0 : AG_ENOMEM;
}

static int refuse(struct ag_buf *why, int rc, const char *what)
{
    if (why != NULL) {
        int r2 = ag_buf_printf(why, "checkpoint refused: %s\n", what);
        (void)r2;
    }
    return rc;
}

static int load_state(struct slo_state *st, struct slo_rd *r, uint64_t version)
{
    if (slo_get_u64(r) != (uint64_t)st->kind || slo_get_u64(r) != st->def->n_alerts) {
        return AG_EPROTO;
    }
    st->clock = slo_get_i64(r);
    st->start_ms = slo_get_i64(r);
    st->gap_start = slo_get_i64(r);
    st->gap_end = slo_get_i64(r);
    uint64_t flags = version >= 2 ? slo_get_u64(r) : 0;
    if (flags > 1) {
        return AG_EPROTO;
    }
    st->lost = flags != 0;
    if (st->clock < 0 || st->clock > SLO_TIME_MAX_MS || st->start_ms < 0 ||
        st->start_ms > st->clock || st->gap_start > st->gap_end) {
        return AG_EPROTO;
    }
    for (size_t k = 0; k < st->def->n_alerts; k++) {
        uint64_t f = slo_get_u64(r);
        if (f > 1) {
            return AG_EPROTO;
        }
        st->firing[k] = f != 0;
        st->last_resolve[k] = version >= 2 ? slo_get_i64(r) : -1;
        if (st->last_resolve[k] < -1 || st->last_resolve[k] > st->clock) {
            return AG_EPROTO;
        }
    }
    int rc = 0;
    switch (st->kind) {
    case ST_OCC_ROLL:
        rc = slo_window_load(st->win, r);
        break;
    case ST_RATIO_ROLL:
        rc = slo_window_load(st->win, r);
        if (rc == 0 && st->grp != NULL) {
            rc = groups_load(st, r);
        }
        break;
    case ST_RATIO_CAL:
        rc = slo_window_load(st->win, r);
        if (rc == 0 && st->fold) {
            rc = acc_load(st, r);
        }
        break;
    case ST_OCC_CAL:
        rc = slo_calendar_load(&st->cal, r);
        if (rc == 0) {
            rc = slo_window_load(st->win, r);
        }
        break;
    case ST_SLICES_ROLL:
    case ST_SLICES_CAL:
        rc = slo_slices_load(st->sl, r, version < 3);
        break;
    }
    if (rc == 0 && st->drop != NULL) {
        rc = drop_load(st, r);
    }
    if (rc == 0 && st->cb != NULL && version >= 4) {
        rc = cb_load(st, r);
    }
    return r->bad ? AG_EPROTO : rc;
}

int slo_engine_restore(struct slo_engine *e, const void *data, size_t len, int64_t now_ms,
                       const void **extra, size_t *extra_len, struct ag_buf *why)
{
    const uint8_t *p = data;
    if (extra != NULL) {
        *extra = NULL;
    }
    if (extra_len != NULL) {
        *extra_len = 0;
    }
    if (len < HEADER_BYTES + 8 + TRAILER_BYTES) {
        return refuse(why, AG_EPROTO, "truncated (shorter than a header)");
    }
    if (memcmp(p, MAGIC, 8) != 0) {
        return refuse(why, AG_EPROTO, "not an Otter SLO checkpoint (bad magic)");
    }
    struct slo_rd r = {p + 8, p + len - TRAILER_BYTES, false};
    uint64_t version = slo_get_u64(&r);
    if (version > VERSION) {
        return refuse(why, AG_EUNSUPP, "written by a newer version of the format");
    }
    if (version == 0) {
        return refuse(why, AG_EPROTO, "format version 0");
    }
    struct slo_rd tr = {p + len - TRAILER_BYTES, p + len, false};
    if (slo_get_u64(&tr) != crc32c(p, len - TRAILER_BYTES)) {
        return refuse(why, AG_EPROTO, "checksum mismatch (truncated or corrupt)");
    }
    if (slo_get_u64(&r) != fingerprint(e->defs) || slo_get_u64(&r) != e->n) {
        return refuse(why, AG_EINVAL, "written for other SLO definitions");
    }
    int64_t clock = slo_get_i64(&r);
    if (clock < 0 || clock > SLO_TIME_MAX_MS) {
        return refuse(why, AG_EPROTO, "clock out of range");
    }
    if (clock > now_ms) {
        return refuse(why, AG_EINVAL, "its clock is after the restore time");
    }
    struct slo_engine *tmp = NULL;
    int rc = slo_engine_new(e->defs, clock, NULL, &tmp);
    if (rc != 0) {
        return refuse(why, rc == AG_ENOMEM ? AG_ENOMEM : AG_EINVAL, "cannot build the engine");
    }
    for (size_t i = 0; i < tmp->n && rc == 0; i++) {
        rc = load_state(&tmp->st[i], &r, version);
        if (rc == 0 && tmp->st[i].clock > clock) {
            rc = AG_EPROTO;
        }
    }
    uint64_t xl = slo_get_u64(&r);
    if (rc == 0 && (r.bad || xl != (uint64_t)(r.end - r.p))) {
        rc = AG_EPROTO;
    }
    if (rc != 0) {
        slo_engine_free(tmp);
        return refuse(why, rc == AG_ENOMEM ? AG_ENOMEM : AG_EPROTO,
                      "malformed state (inconsistent counts or layout)");
    }
    /* Everything checked out: swap the states in, then advance; the skipped time is the gap. */
    struct slo_state *old = e->st;
    e->st = tmp->st;
    tmp->st = old;
    e->clock = clock;
    /* The engine knew everything up to its clock (the latest observation or advance), so the
     * gap starts there, for every SLO. */
    for (size_t i = 0; i < e->n; i++) {
        struct slo_state *st = &e->st[i];
        if (now_ms > clock) {
            st->gap_start = clock;
            st->gap_end = now_ms;
        }
        slo_eval_state_advance(st, now_ms);
    }
    if (now_ms > e->clock) {
        e->clock = now_ms;
    }
    slo_engine_free(tmp);
    if (extra != NULL) {
        *extra = xl > 0 ? r.p : NULL;
    }
    if (extra_len != NULL) {
        *extra_len = (size_t)xl;
    }
    return 0;
}

int slo_checkpoint_clock(const void *data, size_t len, int64_t *clock_ms)
{
    *clock_ms = 0;
    if (len < HEADER_BYTES + 8 + TRAILER_BYTES || memcmp(data, MAGIC, 8) != 0) {
        return AG_EPROTO;
    }
    struct slo_rd r = {(const uint8_t *)data + 32, (const uint8_t *)data + 40, false};
    *clock_ms = slo_get_i64(&r);
    return 0;
}
