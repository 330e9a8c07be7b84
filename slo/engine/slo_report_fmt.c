/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The figures the human-readable reports print (text, Markdown, HTML), formatted once from the
 * engine's exact rationals with a rounding direction chosen per figure (see slo_report_fmt.h),
 * plus the small text utilities the three renderers share: UTF-8 decoding, control characters,
 * RFC 3339 times, durations and the list of burn rates of one SLO.
 */
#include "slo_report_fmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "slo_decimal.h"

#define U128_MAX (~(slo_u128)0)
#define MAX_DECIMALS 30

/* Appends the decimal digits of |v| to |buf| at |*len| (cap checked). */
static int put_u128(slo_u128 v, char *buf, size_t cap, size_t *len)
{
    char tmp[40];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    if (*len + n >= cap) {
        return AG_ETOOBIG;
    }
    while (n > 0) {
        buf[(*len)++] = tmp[--n];
    }
    buf[*len] = '\0';
    return 0;
}

int slo_report_fmt_rat(const struct slo_rat *r, uint64_t mul, unsigned decimals,
                       enum slo_report_round mode, char *buf, size_t cap)
{
    slo_u128 num = r->num;
    slo_u128 den = r->den != 0 ? r->den : 1;
    char frac[MAX_DECIMALS];
    size_t len = 0;
    if (decimals > MAX_DECIMALS) {
        decimals = MAX_DECIMALS;
    }
    if (mul == 0) {
        mul = 1;
    }
    /* Keep num * mul and rem * 10 within 128 bits; only absurd rationals lose low bits here,
     * and these figures are for display. */
    while (den >= ((slo_u128)1 << 123) || num > U128_MAX / mul) {
        if (den == 1) {
            num = U128_MAX / mul;
            break;
        }
        num >>= 1;
        den >>= 1;
    }
    slo_u128 v = num * mul;
    slo_u128 q = v / den;
    slo_u128 rem = v % den;
    for (unsigned i = 0; i < decimals; i++) {
        rem *= 10;
        frac[i] = (char)('0' + (int)(rem / den));
        rem %= den;
    }
    /* Rounding up a positive value, or down a negative one, grows the magnitude. */
    bool grow = rem != 0 && ((mode == SLO_ROUND_UP) != r->neg);
    if (grow) {
        bool carry = true;
        for (unsigned i = decimals; i > 0 && carry; i--) {
            if (frac[i - 1] == '9') {
                frac[i - 1] = '0';
            } else {
                frac[i - 1]++;
                carry = false;
            }
        }
        if (carry) {
            q++;
        }
    }
    bool zero = q == 0;
    for (unsigned i = 0; i < decimals && zero; i++) {
        zero = frac[i] == '0';
    }
    if (cap < 2) {
        return AG_ETOOBIG;
    }
    if (r->neg && !zero) {
        buf[len++] = '-';
    }
    buf[len] = '\0';
    if (put_u128(q, buf, cap, &len) != 0) {
        return AG_ETOOBIG;
    }
    if (decimals > 0) {
        if (len + 1 + decimals >= cap) {
            return AG_ETOOBIG;
        }
        buf[len++] = '.';
        memcpy(buf + len, frac, decimals);
        len += decimals;
        buf[len] = '\0';
    }
    return (int)len;
}

unsigned slo_report_attain_decimals(const struct slo_decimal *objective)
{
    /* o = num / 10^scale as a fraction has scale - 2 decimals in percent. */
    return (objective->scale > 2 ? objective->scale - 2 : 0) + 2;
}

/* Drops trailing zeros after the point, and the point itself if nothing follows it. */
static void trim_zeros(char *s)
{
    char *dot = strchr(s, '.');
    if (dot == NULL) {
        return;
    }
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '0') {
        s[--n] = '\0';
    }
    if (n > 0 && s[n - 1] == '.') {
        s[n - 1] = '\0';
    }
}

/* |r| exactly (or rounded down past |decimals|) followed by " event(s)" or " period(s)". */
static int fmt_units(const struct slo_rat *r, unsigned decimals, bool periods, char *buf,
                     size_t cap)
{
    char num[SLO_REPORT_NUM_CAP];
    if (slo_report_fmt_rat(r, 1, decimals, SLO_ROUND_DOWN, num, sizeof(num)) < 0) {
        return AG_ETOOBIG;
    }
    trim_zeros(num);
    bool one = strcmp(num, "1") == 0;
    int n = snprintf(buf, cap, "%s %s%s", num, periods ? "period" : "event", one ? "" : "s");
    return n < 0 || (size_t)n >= cap ? AG_ETOOBIG : n;
}

int slo_report_fmt_burn(const struct slo_burn *b, char *buf, size_t cap)
{
    if (!b->has_data) {
        int n = snprintf(buf, cap, "%s", SLO_REPORT_NULL);
        return n < 0 || (size_t)n >= cap ? AG_ETOOBIG : n;
    }
    return slo_report_fmt_rat(&b->rate, 1, 2, SLO_ROUND_UP, buf, cap);
}

void slo_report_fmt_instant(int64_t ms, char *buf)
{
    if (slo_report_fmt_time(ms, buf, SLO_REPORT_NUM_CAP) < 0) {
        memcpy(buf, "?", 2);
    }
}

void slo_report_fmt_gap(int64_t gap_ms, char *buf)
{
    char d[SLO_REPORT_NUM_CAP];
    if (slo_report_fmt_duration((double)gap_ms / 1000.0, d, sizeof(d)) < 0) {
        memcpy(d, "?", 2);
    }
    snprintf(buf, SLO_REPORT_GAP_CAP, "no data from the agent for %s of the window (it was down)",
             d);
}

int slo_report_fmt_duration(double seconds, char *buf, size_t cap)
{
    int n;
    if (isnan(seconds) || fabs(seconds) >= 1e9 * 86400.0) {
        n = snprintf(buf, cap, "%s", SLO_REPORT_NULL);
        return n < 0 || (size_t)n >= cap ? AG_ETOOBIG : n;
    }
    bool neg = seconds < 0;
    uint64_t t = (uint64_t)floor(fabs(seconds));
    const uint64_t parts[4] = {t / 86400, t / 3600 % 24, t / 60 % 60, t % 60};
    static const char units[4] = {'d', 'h', 'm', 's'};
    size_t k = 0;
    while (k < 3 && parts[k] == 0) {
        k++;
    }
    if (k < 3 && parts[k + 1] != 0) {
        n = snprintf(buf, cap, "%s%llu%c %llu%c", neg && t ? "-" : "",
                     (unsigned long long)parts[k], units[k], (unsigned long long)parts[k + 1],
                     units[k + 1]);
    } else {
        n = snprintf(buf, cap, "%s%llu%c", neg && t ? "-" : "", (unsigned long long)parts[k],
                     units[k]);
    }
    return n < 0 || (size_t)n >= cap ? AG_ETOOBIG : n;
}

int slo_report_fmt_time(int64_t ms, char *buf, size_t cap)
{
    /* Days since the epoch to a proleptic Gregorian date (the era-based civil-from-days method). */
    int64_t secs = ms / 1000;
    int64_t msec = ms % 1000;
    if (msec < 0) {
        secs--;
        msec += 1000;
    }
    int64_t days = secs / 86400 - (secs % 86400 < 0 ? 1 : 0);
    int64_t sod = secs - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) {
        y++;
    }
    if (y < 0 || y > 9999) {
        return AG_EINVAL;
    }
    int n;
    if (msec != 0) {
        n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, (int)m, (int)d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)msec);
    } else {
        n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, (int)m, (int)d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    }
    return n < 0 || (size_t)n >= cap ? AG_ETOOBIG : n;
}

int slo_report_figs(const struct slo_eval *ev, struct slo_report_figs *out)
{
    const struct slo_budget *b = &ev->budget;
    const struct slo_decimal *o = ev->def != NULL ? &ev->def->objective : NULL;
    char tmp[SLO_REPORT_NUM_CAP];
    int n;
    memset(out, 0, sizeof(*out));

    if (o != NULL && o->den != 0) {
        if (slo_objective_format_percent(o, tmp, sizeof(tmp)) < 0) {
            return AG_ETOOBIG;
        }
        n = snprintf(out->objective, sizeof(out->objective), "%s%%", tmp);
    } else {
        n = snprintf(out->objective, sizeof(out->objective), "%s", SLO_REPORT_NULL);
    }
    if (n < 0 || (size_t)n >= sizeof(out->objective)) {
        return AG_ETOOBIG;
    }

    if (ev->attainment_null || b->no_data || o == NULL) {
        n = snprintf(out->attainment, sizeof(out->attainment), "%s", SLO_REPORT_NULL);
    } else {
        if (slo_report_fmt_rat(&b->attainment, 100, slo_report_attain_decimals(o),
                               SLO_ROUND_DOWN, tmp, sizeof(tmp)) < 0) {
            return AG_ETOOBIG;
        }
        n = snprintf(out->attainment, sizeof(out->attainment), "%s%%", tmp);
    }
    if (n < 0 || (size_t)n >= sizeof(out->attainment)) {
        return AG_ETOOBIG;
    }

    /* Without data nothing is consumed: the whole budget is left (specs/slo.md §5). */
    static const struct slo_rat whole = {1, 1, false};
    const struct slo_rat *rf = b->no_data ? &whole : &b->remaining_fraction;
    if (slo_report_fmt_rat(rf, 100, 1, SLO_ROUND_DOWN, tmp, sizeof(tmp)) < 0) {
        return AG_ETOOBIG;
    }
    if (tmp[0] == '-') {
        n = snprintf(out->budget_left, sizeof(out->budget_left), "overspent %s%%", tmp + 1);
    } else {
        n = snprintf(out->budget_left, sizeof(out->budget_left), "%s%%", tmp);
    }
    if (n < 0 || (size_t)n >= sizeof(out->budget_left)) {
        return AG_ETOOBIG;
    }
    if (rf->neg || rf->den == 0) {
        out->bar_cells = 0;
    } else if (rf->num >= rf->den || rf->num > U128_MAX / SLO_REPORT_BAR_CELLS) {
        out->bar_cells = SLO_REPORT_BAR_CELLS;
    } else {
        out->bar_cells = (unsigned)(rf->num * SLO_REPORT_BAR_CELLS / rf->den);
    }

    n = snprintf(out->bad_total, sizeof(out->bad_total), "%llu / %llu",
                 (unsigned long long)b->bad, (unsigned long long)b->total);
    if (n < 0 || (size_t)n >= sizeof(out->bad_total)) {
        return AG_ETOOBIG;
    }

    /* The budget is (1 - o) * total: at most the objective's decimals. */
    unsigned dec = o != NULL ? o->scale : 0;
    if (fmt_units(&b->budget_total, dec, ev->periods, out->budget, sizeof(out->budget)) < 0 ||
        fmt_units(&b->remaining, dec, ev->periods, out->remaining, sizeof(out->remaining)) < 0) {
        return AG_ETOOBIG;
    }

    if (b->has_seconds) {
        double s = slo_rat_to_double(&b->remaining_seconds);
        if (slo_report_fmt_duration(s, tmp, sizeof(tmp)) < 0) {
            return AG_ETOOBIG;
        }
        if (tmp[0] == '-') {
            n = snprintf(out->seconds, sizeof(out->seconds), "overspent %s", tmp + 1);
        } else {
            n = snprintf(out->seconds, sizeof(out->seconds), "%s", tmp);
        }
    } else {
        n = snprintf(out->seconds, sizeof(out->seconds), "%s", SLO_REPORT_NULL);
    }
    if (n < 0 || (size_t)n >= sizeof(out->seconds)) {
        return AG_ETOOBIG;
    }

    if (ev->tte_null) {
        n = snprintf(out->tte, sizeof(out->tte), "%s", SLO_REPORT_NULL);
        if (n < 0 || (size_t)n >= sizeof(out->tte)) {
            return AG_ETOOBIG;
        }
    } else if (slo_report_fmt_duration(ev->tte_seconds, out->tte, sizeof(out->tte)) < 0) {
        return AG_ETOOBIG;
    }
    return 0;
}

int32_t slo_report_utf8_next(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    if (p[0] == 0) {
        return 0;
    }
    if (p[0] < 0x80) {
        (*s)++;
        return p[0];
    }
    int len;
    int32_t cp;
    int32_t min;
    if ((p[0] & 0xe0) == 0xc0) {
        len = 2, cp = p[0] & 0x1f, min = 0x80;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3, cp = p[0] & 0x0f, min = 0x800;
    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4, cp = p[0] & 0x07, min = 0x10000;
    } else {
        (*s)++;
        return -1;
    }
    for (int i = 1; i < len; i++) {
        /* A NUL here is not a continuation byte, so the string's end is never passed. */
        if ((p[i] & 0xc0) != 0x80) {
            (*s)++;
            return -1;
        }
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        (*s)++;
        return -1;
    }
    *s += len;
    return cp;
}

bool slo_report_is_control(int32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int slo_report_burn_list(const struct slo_eval *ev, slo_report_esc_fn *esc, struct ag_buf *out)
{
    char num[SLO_REPORT_NUM_CAP];
    int rc = 0;
    if (ev->n_burns == 0) {
        return ag_buf_adds(out, SLO_REPORT_NULL);
    }
    for (size_t i = 0; i < ev->n_burns && rc == 0; i++) {
        if (slo_report_fmt_burn(&ev->burns[i].burn, num, sizeof(num)) < 0) {
            return AG_ETOOBIG;
        }
        if (i > 0) {
            rc = ag_buf_adds(out, ", ");
        }
        if (rc == 0) {
            rc = esc(out, ev->burns[i].window != NULL ? ev->burns[i].window : "?");
        }
        if (rc == 0) {
            rc = ag_buf_addc(out, ' ');
        }
        if (rc == 0) {
            rc = ag_buf_adds(out, num);
        }
    }
    return rc;
}

bool slo_report_alert_listed(const struct slo_eval *ev, size_t i)
{
    const struct slo_eval_alert *a = &ev->alerts[i];
    if (!a->firing || a->def == NULL || a->def->name == NULL) {
        return false;
    }
    for (size_t j = 0; j < i; j++) {
        const struct slo_eval_alert *p = &ev->alerts[j];
        if (p->firing && p->def != NULL && p->def->name != NULL &&
            strcmp(p->def->name, a->def->name) == 0) {
            return false;
        }
    }
    return true;
}

const char *slo_report_name(const struct slo_eval *ev)
{
    return ev->def != NULL && ev->def->name != NULL ? ev->def->name : "?";
}

const char *slo_report_status(const struct slo_eval *ev)
{
    return slo_status_name(ev->budget.status);
}
