/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exact decimals for the SLO engine: objectives and thresholds parsed from text into
 * num / 10^k and compared by integer cross-multiplication (specs/slo.md §11). Doubles appear only
 * when a value is converted for display.
 */
#include "slo_decimal.h"

#include <stdio.h>
#include <string.h>

static const uint64_t pow10_u64[] = {
    1ull,
    10ull,
    100ull,
    1000ull,
    10000ull,
    100000ull,
    1000000ull,
    10000000ull,
    100000000ull,
    1000000000ull,
    10000000000ull,
    100000000000ull,
    1000000000000ull,
    10000000000000ull,
    100000000000000ull,
    1000000000000000ull,
    10000000000000000ull,
    100000000000000000ull,
    1000000000000000000ull,
};

/* |got| is the offending byte, or NONE when the text ended or no byte is to blame. */
#define NONE (-1)

static void set_err(struct slo_decimal_error *err, size_t offset, const char *msg, int got)
{
    if (err == NULL) {
        return;
    }
    err->offset = offset;
    if (got == NONE) {
        snprintf(err->msg, sizeof(err->msg), "%s", msg);
    } else if (got >= 0x20 && got < 0x7f) {
        snprintf(err->msg, sizeof(err->msg), "%s, got '%c'", msg, got);
    } else {
        snprintf(err->msg, sizeof(err->msg), "%s, got byte 0x%02x", msg, (unsigned)got);
    }
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int slo_decimal_parse(const char *text, size_t len, struct slo_decimal *out,
                      struct slo_decimal_error *err)
{
    uint64_t num = 0;
    unsigned digits = 0; /* significant digits in num so far */
    unsigned scale = 0;
    size_t i = 0;
    size_t int_digits = 0;

    memset(out, 0, sizeof(*out));
    if (len == 0) {
        set_err(err, 0, "expected a decimal number, got nothing", NONE);
        return AG_EPROTO;
    }
    for (; i < len && is_digit(text[i]); i++, int_digits++) {
        if (num == 0 && text[i] == '0') {
            continue; /* leading zeros are not significant */
        }
        if (++digits > SLO_DECIMAL_MAX_DIGITS) {
            set_err(err, i, "too many digits (at most 18 significant)", NONE);
            return AG_ETOOBIG;
        }
        num = num * 10 + (uint64_t)(text[i] - '0');
    }
    if (int_digits == 0) {
        set_err(err, 0, "expected a digit", (unsigned char)text[0]);
        return AG_EPROTO;
    }
    if (i < len && text[i] == '.') {
        size_t point = i++;
        size_t last_nonzero = point; /* trailing zeros after the point are dropped */
        for (size_t j = i; j < len && is_digit(text[j]); j++) {
            if (text[j] != '0') {
                last_nonzero = j;
            }
        }
        if (i >= len || !is_digit(text[i])) {
            set_err(err, i, "expected a digit after the decimal point",
                    i < len ? (unsigned char)text[i] : NONE);
            return AG_EPROTO;
        }
        for (; i < len && is_digit(text[i]); i++) {
            if (i > last_nonzero) {
                continue;
            }
            if (++scale > SLO_DECIMAL_MAX_SCALE) {
                set_err(err, i, "too many decimals (at most 18)", NONE);
                return AG_ETOOBIG;
            }
            if (num == 0 && text[i] == '0') {
                continue;
            }
            if (++digits > SLO_DECIMAL_MAX_DIGITS) {
                set_err(err, i, "too many digits (at most 18 significant)", NONE);
                return AG_ETOOBIG;
            }
            num = num * 10 + (uint64_t)(text[i] - '0');
        }
    }
    if (i < len) {
        const char *want = i == int_digits ? "expected a digit, '.' or the end"
                                           : "expected a digit or the end";
        set_err(err, i, want,
                (unsigned char)text[i]);
        return AG_EPROTO;
    }
    out->num = num;
    out->den = pow10_u64[scale];
    out->scale = scale;
    return 0;
}

int slo_objective_parse(const char *text, size_t len, enum slo_objective_unit unit,
                        struct slo_decimal *out, struct slo_decimal_error *err)
{
    struct slo_decimal d;
    int rc = slo_decimal_parse(text, len, &d, err);
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    if (unit == SLO_OBJ_PERCENT) {
        /* x % = x / 100: two more decimals. */
        if (d.scale + 2 > SLO_DECIMAL_MAX_SCALE) {
            set_err(err, 0, "too many decimals for a percentage (at most 16)", NONE);
            memset(out, 0, sizeof(*out));
            return AG_ETOOBIG;
        }
        d.scale += 2;
        d.den = pow10_u64[d.scale];
        /* Renormalise: "90" % = 90 / 100 = 9 / 10. */
        while (d.scale > 0 && d.num % 10 == 0 && d.num != 0) {
            d.num /= 10;
            d.scale--;
            d.den = pow10_u64[d.scale];
        }
    }
    if (d.num == 0 || d.num >= d.den) {
        set_err(err, 0,
                unit == SLO_OBJ_PERCENT ? "objective must be above 0 and below 100 (percent)"
                                        : "objective must be above 0 and below 1 (a fraction)",
                NONE);
        memset(out, 0, sizeof(*out));
        return AG_EINVAL;
    }
    *out = d;
    return 0;
}

uint64_t slo_objective_budget_num(const struct slo_decimal *o)
{
    return o->den - o->num;
}

/* A 256-bit unsigned value as two 128-bit halves. */
struct u256 {
    slo_u128 hi;
    slo_u128 lo;
};

static struct u256 mul128x64(slo_u128 a, uint64_t b)
{
    slo_u128 al = (uint64_t)a;
    slo_u128 ah = a >> 64;
    slo_u128 plo = al * b; /* < 2^128 */
    slo_u128 phi = ah * b; /* < 2^128, weight 2^64 */
    struct u256 r;
    r.lo = plo + (phi << 64);
    r.hi = (phi >> 64) + (r.lo < plo ? 1 : 0);
    return r;
}

int slo_cmp3(uint64_t a1, uint64_t a2, uint64_t a3, uint64_t b1, uint64_t b2, uint64_t b3)
{
    return slo_cmp_wide((slo_u128)a1 * a2, a3, (slo_u128)b1 * b2, b3);
}

int slo_cmp_wide(slo_u128 a_, uint64_t b_, slo_u128 c_, uint64_t d_)
{
    struct u256 a = mul128x64(a_, b_);
    struct u256 b = mul128x64(c_, d_);
    if (a.hi != b.hi) {
        return a.hi < b.hi ? -1 : 1;
    }
    if (a.lo != b.lo) {
        return a.lo < b.lo ? -1 : 1;
    }
    return 0;
}

int slo_decimal_cmp(const struct slo_decimal *a, const struct slo_decimal *b)
{
    return slo_cmp3(a->num, b->den, 1, b->num, a->den, 1);
}

static int format_scaled(uint64_t num, unsigned scale, char *buf, size_t cap)
{
    int n;
    if (scale == 0) {
        n = snprintf(buf, cap, "%llu", (unsigned long long)num);
    } else {
        uint64_t p = pow10_u64[scale];
        n = snprintf(buf, cap, "%llu.%0*llu", (unsigned long long)(num / p), (int)scale,
                     (unsigned long long)(num % p));
    }
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0) {
            buf[0] = '\0';
        }
        return AG_ETOOBIG;
    }
    return n;
}

int slo_decimal_format(const struct slo_decimal *d, char *buf, size_t cap)
{
    return format_scaled(d->num, d->scale, buf, cap);
}

int slo_objective_format_percent(const struct slo_decimal *o, char *buf, size_t cap)
{
    /* o = num / 10^scale, so o * 100 = num / 10^(scale - 2) (or num * 10^(2 - scale)). */
    if (o->scale >= 2) {
        return format_scaled(o->num, o->scale - 2, buf, cap);
    }
    return format_scaled(o->num * pow10_u64[2 - o->scale], 0, buf, cap);
}

double slo_ratio_to_double(slo_u128 num, slo_u128 den)
{
    if (den == 0) {
        return 0.0;
    }
    /* Split off the integer part so the fraction keeps its precision for huge values. */
    slo_u128 q = num / den;
    slo_u128 r = num % den;
    while (den > ((slo_u128)1 << 100)) {
        den >>= 1;
        r >>= 1;
    }
    return (double)q + (double)r / (double)den;
}
