/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A TZif reader (RFC 8536) for calendar SLO windows in IANA zones: the transition table and the
 * footer's POSIX TZ rule, then UTC offsets and local-midnight period boundaries. The caller reads
 * the zone file; everything here is arithmetic on its bytes, so it is unit-tested against the
 * system's zones and fuzzed directly (tests/fuzz/fuzz_slo_tz.c).
 */
#include "slo_tz.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ag_mem.h"

#define MAX_FILE     (1u << 20)
#define MIN_UTOFF    (-89999) /* RFC 8536 3.2: -25 h < utoff < 26 h */
#define MAX_UTOFF    93599
#define MIN_S        (SLO_TZ_MIN_MS / 1000)
#define MAX_S        (SLO_TZ_MAX_MS / 1000)
#define DAY          86400

/* A date of a POSIX TZ rule. */
enum rule_kind {
    RULE_JULIAN1, /* Jn: 1..365, February 29 never counted */
    RULE_JULIAN0, /* n: 0..365, February 29 counted */
    RULE_MWD,     /* Mm.w.d: day d (0 = Sunday) of week w (5 = last) of month m */
};

struct rule_date {
    enum rule_kind kind;
    int n, m, w, d;
    int32_t time; /* seconds after local midnight, -167 h .. 167 h (version 3) */
};

struct slo_tz {
    int64_t *times;   /* transitions, Unix seconds, strictly ascending */
    uint8_t *idx;     /* the type each transition starts */
    size_t n_times;
    int32_t *utoff;   /* per type */
    size_t n_types;
    bool has_rule;    /* a non-empty footer */
    int32_t std_off;  /* east of UTC */
    bool has_dst;
    int32_t dst_off;
    struct rule_date start, end;
};

/* ---- calendar arithmetic (proleptic Gregorian) ---------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a % b < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of y-m-d (m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

/* 0 = Sunday. 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
    return (int)(((days % 7) + 11) % 7);
}

/* ---- TZif parsing ------------------------------------------------------------------------------ */

struct reader {
    const uint8_t *p;
    size_t len, off;
    struct ag_buf *why;
};

static int fail(struct reader *r, int rc, const char *msg)
{
    if (r->why != NULL) {
        /* The message is best effort: a failed append frees the caller's buffer, nothing else. */
        if (ag_buf_printf(r->why, "TZif: %s\n", msg) != 0) {
            return rc;
        }
    }
    return rc;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct header {
    int version; /* 1, 2, 3, 4 */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int read_header(struct reader *r, struct header *h)
{
    if (r->len - r->off < 44) {
        return fail(r, AG_EPROTO, "truncated header (44 bytes expected)");
    }
    const uint8_t *p = r->p + r->off;
    if (memcmp(p, "TZif", 4) != 0) {
        return fail(r, AG_EPROTO, "not a TZif file (magic \"TZif\" expected)");
    }
    if (p[4] == 0) {
        h->version = 1;
    } else if (p[4] >= '2' && p[4] <= '4') {
        h->version = p[4] - '0';
    } else {
        return fail(r, AG_EPROTO, "unknown version (0, '2', '3' or '4' expected)");
    }
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    r->off += 44;
    if (h->typecnt == 0 || h->typecnt > 256) {
        return fail(r, AG_EPROTO, "typecnt out of range (1..256 expected)");
    }
    if (h->charcnt == 0) {
        return fail(r, AG_EPROTO, "charcnt is 0 (at least one designation byte expected)");
    }
    if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)) {
        return fail(r, AG_EPROTO, "isutcnt or isstdcnt is neither 0 nor typecnt");
    }
    if (h->timecnt > SLO_TZ_MAX_TRANSITIONS) {
        return fail(r, AG_ETOOBIG, "too many transitions");
    }
    return 0;
}

/* The length of a data block whose times take |tsize| bytes (counts are below 2^32: no
 * overflow in 64 bits). */
static uint64_t block_len(const struct header *h, unsigned tsize)
{
    return (uint64_t)h->timecnt * tsize + h->timecnt + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int read_block(struct reader *r, const struct header *h, unsigned tsize, struct slo_tz *tz)
{
    if (block_len(h, tsize) > r->len - r->off) {
        return fail(r, AG_EPROTO, "truncated data block");
    }
    if (h->leapcnt != 0) {
        return fail(r, AG_EUNSUPP, "leap-second records (a \"right/\" zone; use the plain one)");
    }
    const uint8_t *p = r->p + r->off;
    tz->n_times = h->timecnt;
    tz->n_types = h->typecnt;
    tz->times = ag_calloc(h->timecnt ? h->timecnt : 1, sizeof(*tz->times));
    tz->idx = ag_calloc(h->timecnt ? h->timecnt : 1, 1);
    tz->utoff = ag_calloc(h->typecnt, sizeof(*tz->utoff));
    if (tz->times == NULL || tz->idx == NULL || tz->utoff == NULL) {
        return AG_ENOMEM;
    }
    for (uint32_t i = 0; i < h->timecnt; i++) {
        tz->times[i] = tsize == 4 ? (int64_t)(int32_t)be32(p + 4 * i) : be64(p + 8 * i);
        if (i > 0 && tz->times[i] <= tz->times[i - 1]) {
            char msg[80];
            snprintf(msg, sizeof(msg), "transition %u is not after transition %u", i, i - 1);
            return fail(r, AG_EPROTO, msg);
        }
    }
    p += (size_t)h->timecnt * tsize;
    for (uint32_t i = 0; i < h->timecnt; i++) {
        tz->idx[i] = p[i];
        if (p[i] >= h->typecnt) {
            return fail(r, AG_EPROTO, "a transition names a time type beyond typecnt");
        }
    }
    p += h->timecnt;
    for (uint32_t i = 0; i < h->typecnt; i++) {
        int32_t off = (int32_t)be32(p + 6 * i);
        if (off < MIN_UTOFF || off > MAX_UTOFF) {
            return fail(r, AG_EPROTO, "a UT offset beyond -89999..93599 seconds");
        }
        if (p[6 * i + 4] > 1) {
            return fail(r, AG_EPROTO, "an isdst flag other than 0 or 1");
        }
        if (p[6 * i + 5] >= h->charcnt) {
            return fail(r, AG_EPROTO, "a designation index beyond charcnt");
        }
        tz->utoff[i] = off;
    }
    p += (size_t)h->typecnt * 6 + h->charcnt;
    for (uint32_t i = 0; i < h->isstdcnt + h->isutcnt; i++) {
        if (p[i] > 1) {
            return fail(r, AG_EPROTO, "a standard/wall or UT/local indicator other than 0 or 1");
        }
    }
    r->off += (size_t)block_len(h, tsize);
    return 0;
}

/* ---- the footer's POSIX TZ string ---------------------------------------------------------- */

struct tzs {
    const char *p, *end;
};

static bool tzs_num(struct tzs *s, int max, int *out)
{
    int v = 0, n = 0;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        v = v * 10 + (*s->p++ - '0');
        if (v > max || ++n > 3) {
            return false;
        }
    }
    *out = v;
    return n > 0;
}

/* [+-]hh[:mm[:ss]] with hours up to |max_h|, into seconds (sign applied). */
static bool tzs_hms(struct tzs *s, int max_h, int32_t *out)
{
    int sign = 1, h = 0, m = 0, sec = 0;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-')) {
        sign = *s->p++ == '-' ? -1 : 1;
    }
    if (!tzs_num(s, max_h, &h)) {
        return false;
    }
    if (s->p < s->end && *s->p == ':') {
        s->p++;
        if (!tzs_num(s, 59, &m)) {
            return false;
        }
        if (s->p < s->end && *s->p == ':') {
            s->p++;
            if (!tzs_num(s, 59, &sec)) {
                return false;
            }
        }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
}

/* A zone abbreviation: 3+ letters, or <...> of letters, digits, '+' and '-'. */
static bool tzs_name(struct tzs *s)
{
    size_t n = 0;
    if (s->p < s->end && *s->p == '<') {
        s->p++;
        while (s->p < s->end && *s->p != '>') {
            char c = *s->p++;
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '-')) {
                return false;
            }
            n++;
        }
        if (s->p >= s->end) {
            return false;
        }
        s->p++;
        return n >= 3;
    }
    while (s->p < s->end && ((*s->p >= 'A' && *s->p <= 'Z') || (*s->p >= 'a' && *s->p <= 'z'))) {
        s->p++;
        n++;
    }
    return n >= 3;
}

static bool tzs_date(struct tzs *s, struct rule_date *d)
{
    memset(d, 0, sizeof(*d));
    d->time = 7200; /* 02:00:00 by default */
    if (s->p < s->end && *s->p == 'J') {
        s->p++;
        d->kind = RULE_JULIAN1;
        if (!tzs_num(s, 365, &d->n) || d->n < 1) {
            return false;
        }
    } else if (s->p < s->end && *s->p == 'M') {
        s->p++;
        d->kind = RULE_MWD;
        if (!tzs_num(s, 12, &d->m) || d->m < 1 || s->p >= s->end || *s->p++ != '.' ||
            !tzs_num(s, 5, &d->w) || d->w < 1 || s->p >= s->end || *s->p++ != '.' ||
            !tzs_num(s, 6, &d->d)) {
            return false;
        }
    } else {
        d->kind = RULE_JULIAN0;
        if (!tzs_num(s, 365, &d->n)) {
            return false;
        }
    }
    if (s->p < s->end && *s->p == '/') {
        s->p++;
        return tzs_hms(s, 167, &d->time);
    }
    return true;
}

static int parse_footer(struct reader *r, struct slo_tz *tz)
{
    if (r->off >= r->len || r->p[r->off] != '\n') {
        return fail(r, AG_EPROTO, "footer missing (a newline after the version 2 block expected)");
    }
    const char *start = (const char *)r->p + r->off + 1;
    const char *nl = memchr(start, '\n', r->len - r->off - 1);
    if (nl == NULL) {
        return fail(r, AG_EPROTO, "footer not closed by a newline");
    }
    if ((const uint8_t *)nl + 1 != r->p + r->len) {
        return fail(r, AG_EPROTO, "trailing bytes after the footer");
    }
    r->off = r->len;
    if (nl == start) {
        return 0; /* empty: no rule beyond the last transition */
    }
    struct tzs s = {start, nl};
    int32_t off;
    /* POSIX offsets are west of UTC: "CET-1" is UTC+1. */
    if (!tzs_name(&s) || !tzs_hms(&s, 24, &off)) {
        return fail(r, AG_EPROTO, "footer: standard time name and offset expected");
    }
    tz->has_rule = true;
    tz->std_off = -off;
    if (s.p == s.end) {
        return 0;
    }
    if (!tzs_name(&s)) {
        return fail(r, AG_EPROTO, "footer: DST name expected after the standard offset");
    }
    tz->has_dst = true;
    tz->dst_off = tz->std_off + 3600;
    if (s.p < s.end && *s.p != ',') {
        if (!tzs_hms(&s, 24, &off)) {
            return fail(r, AG_EPROTO, "footer: DST offset malformed");
        }
        tz->dst_off = -off;
    }
    if (s.p == s.end) {
        return fail(r, AG_EUNSUPP, "footer: DST without a rule");
    }
    if (*s.p++ != ',' || !tzs_date(&s, &tz->start) || s.p >= s.end || *s.p++ != ',' ||
        !tzs_date(&s, &tz->end) || s.p != s.end) {
        return fail(r, AG_EPROTO, "footer: rule \",start[/time],end[/time]\" malformed");
    }
    return 0;
}

int slo_tz_new(const uint8_t *data, size_t len, struct ag_buf *why, struct slo_tz **out)
{
    struct reader r = {data, len, 0, why};
    struct header h;
    struct slo_tz *tz = NULL;
    int rc;
    *out = NULL;
    if (len > MAX_FILE) {
        return fail(&r, AG_ETOOBIG, "file larger than 1 MiB");
    }
    if ((rc = read_header(&r, &h)) != 0) {
        return rc;
    }
    tz = ag_calloc(1, sizeof(*tz));
    if (tz == NULL) {
        return AG_ENOMEM;
    }
    if (h.version == 1) {
        rc = read_block(&r, &h, 4, tz);
        if (rc == 0 && r.off != r.len) {
            rc = fail(&r, AG_EPROTO, "trailing bytes after the version 1 block");
        }
    } else {
        /* Skip the 32-bit block (checked for length only), then read the 64-bit one. */
        if (block_len(&h, 4) > r.len - r.off) {
            rc = fail(&r, AG_EPROTO, "truncated version 1 data block");
        } else {
            r.off += (size_t)block_len(&h, 4);
            rc = read_header(&r, &h);
        }
        if (rc == 0) {
            rc = read_block(&r, &h, 8, tz);
        }
        if (rc == 0) {
            rc = parse_footer(&r, tz);
        }
    }
    if (rc != 0) {
        slo_tz_free(tz);
        return rc;
    }
    *out = tz;
    return 0;
}

void slo_tz_free(struct slo_tz *tz)
{
    if (tz == NULL) {
        return;
    }
    ag_free(tz->times);
    ag_free(tz->idx);
    ag_free(tz->utoff);
    ag_free(tz);
}

/* ---- offsets ---------------------------------------------------------------------------------- */

/* The UTC instant of |d| in year |y|, its time read in the local time of offset |off|. */
static int64_t rule_instant(const struct rule_date *d, int64_t y, int32_t off)
{
    int64_t jan1 = days_from_civil(y, 1, 1);
    int64_t day;
    switch (d->kind) {
    case RULE_JULIAN1:
        day = jan1 + d->n - 1 + (is_leap(y) && d->n >= 60 ? 1 : 0);
        break;
    case RULE_JULIAN0:
        day = jan1 + d->n;
        break;
    default: {
        int64_t first = days_from_civil(y, d->m, 1);
        int mday = 1 + (d->d - weekday(first) + 7) % 7 + 7 * (d->w - 1);
        while (mday > month_days(y, d->m)) {
            mday -= 7;
        }
        day = first + mday - 1;
        break;
    }
    }
    return day * DAY + d->time - off;
}

static int32_t rule_offset(const struct slo_tz *tz, int64_t t)
{
    if (!tz->has_dst) {
        return tz->std_off;
    }
    int64_t y;
    int m, d;
    civil_from_days(floor_div(t + tz->std_off, DAY), &y, &m, &d);
    /* DST starts while standard time is in force, and ends while DST is. */
    int64_t s = rule_instant(&tz->start, y, tz->std_off);
    int64_t e = rule_instant(&tz->end, y, tz->dst_off);
    bool dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
    return dst ? tz->dst_off : tz->std_off;
}

/* The offset at Unix second |t| (in range). */
static int32_t offset_at(const struct slo_tz *tz, int64_t t)
{
    if (tz->n_times == 0 || t < tz->times[0]) {
        if (tz->n_times == 0 && tz->has_rule) {
            return rule_offset(tz, t);
        }
        return tz->utoff[0];
    }
    if (t >= tz->times[tz->n_times - 1] && tz->has_rule) {
        return rule_offset(tz, t);
    }
    size_t lo = 0, hi = tz->n_times; /* the last transition <= t is in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->times[mid] <= t) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return tz->utoff[tz->idx[lo]];
}

int slo_tz_offset(const struct slo_tz *tz, int64_t t_ms, int32_t *offset_s)
{
    if (t_ms < SLO_TZ_MIN_MS || t_ms >= SLO_TZ_MAX_MS) {
        return AG_EINVAL;
    }
    *offset_s = offset_at(tz, floor_div(t_ms, 1000));
    return 0;
}

/* ---- period boundaries ----------------------------------------------------------------------- */

/*
 * The first Unix second whose local time is at or after the local second |l|: |l| itself in
 * the offset then in force, the first occurrence when a change repeats it, the change when one
 * skips it. Offsets are bounded (-89999..93599), so the answer lies in [l - 93599, l + 89999]:
 * the offsets at both ends are the candidates. Returns false when neither fits and the gap
 * between them is not one monotonic step (several changes within two days).
 */
static bool local_to_utc(const struct slo_tz *tz, int64_t l, int64_t *out)
{
    int64_t lo_t = l - MAX_UTOFF - 1, hi_t = l - MIN_UTOFF + 1;
    int32_t a = offset_at(tz, lo_t), b = offset_at(tz, hi_t);
    bool ok_a = offset_at(tz, l - a) == a, ok_b = offset_at(tz, l - b) == b;
    if (ok_a || ok_b) {
        int64_t ua = l - a, ub = l - b;
        *out = ok_a && ok_b ? (ua < ub ? ua : ub) : (ok_a ? ua : ub);
        return true;
    }
    /* Skipped: find the first second whose local time passes |l|. local(u) = u + offset(u) is
     * below |l| at l - max(a, b) and at or above it at l - min(a, b) when one change lies
     * between. */
    int64_t lo = l - (a > b ? a : b), hi = l - (a < b ? a : b);
    if (lo + offset_at(tz, lo) >= l || hi + offset_at(tz, hi) < l) {
        return false;
    }
    while (hi - lo > 1) { /* invariant: local(lo) < l <= local(hi) */
        int64_t mid = lo + (hi - lo) / 2;
        if (mid + offset_at(tz, mid) >= l) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    *out = hi;
    return true;
}

/* The first local day of the period of |unit| containing local day |ld|, and of the next. */
static int period_days(enum slo_calendar_unit unit, int64_t ld, int64_t *first, int64_t *next)
{
    int64_t y;
    int m, d;
    civil_from_days(ld, &y, &m, &d);
    switch (unit) {
    case SLO_CAL_DAY:
        *first = ld;
        *next = ld + 1;
        return 0;
    case SLO_CAL_WEEK:
        *first = ld - (weekday(ld) + 6) % 7; /* back to Monday */
        *next = *first + 7;
        return 0;
    case SLO_CAL_MONTH:
        *first = days_from_civil(y, m, 1);
        *next = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
        return 0;
    case SLO_CAL_QUARTER: {
        int q = (m - 1) / 3 * 3 + 1;
        *first = days_from_civil(y, q, 1);
        *next = q == 10 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, q + 3, 1);
        return 0;
    }
    case SLO_CAL_YEAR:
        *first = days_from_civil(y, 1, 1);
        *next = days_from_civil(y + 1, 1, 1);
        return 0;
    }
    return AG_EINVAL;
}

int slo_tz_bounds(const struct slo_tz *tz, enum slo_calendar_unit unit, int64_t t_ms,
                  int64_t *start_ms, int64_t *end_ms)
{
    int64_t first, next, s, e;
    if (t_ms < SLO_TZ_MIN_MS || t_ms >= SLO_TZ_MAX_MS) {
        return AG_EINVAL;
    }
    int64_t t = floor_div(t_ms, 1000);
    int64_t ld = floor_div(t + offset_at(tz, t), DAY);
    int rc = period_days(unit, ld, &first, &next);
    if (rc != 0) {
        return rc;
    }
    /* A change that repeats local time across midnight can put |t| in a period by its local
     * date that has already ended by the clock (the second 23:30 after the next day began at
     * the first 00:00): the period is the one whose interval holds |t|. */
    for (int tries = 0; tries < 3; tries++) {
        if (!local_to_utc(tz, first * DAY, &s) || !local_to_utc(tz, next * DAY, &e)) {
            return AG_EUNSUPP;
        }
        if (s * 1000 <= t_ms && t_ms < e * 1000) {
            *start_ms = s * 1000;
            *end_ms = e * 1000;
            return 0;
        }
        ld = t_ms < s * 1000 ? first - 1 : next;
        if ((rc = period_days(unit, ld, &first, &next)) != 0) {
            return rc;
        }
    }
    return AG_EUNSUPP;
}
