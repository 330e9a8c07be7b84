/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exponential-histogram latency SLIs (slo_expo.h): which buckets of an OTLP exponential
 * histogram lie at or below a decimal threshold, decided with integers and rigorous fixed-point
 * bounds, never with a floating-point log; and the good count of a point at its own scale and
 * every coarser one (what a downscaled cumulative series is compared at).
 */
#include "slo_expo.h"

#include <math.h>

#define FRAC_BITS 124 /* fixed point of the squaring: y in [1, 2) is y * 2^124 < 2^125 */
#define K_SCALE   20  /* K = k_20 */

static unsigned bitlen128(slo_u128 v)
{
    unsigned n = 0;
    while (v != 0) {
        v >>= 1;
        n++;
    }
    return n;
}

/* Compares a * 2^pa with b * 2^pb (a, b > 0; |pa|, |pb| < 2^20). Returns -1, 0 or 1. */
static int cmp_scaled(slo_u128 a, int64_t pa, slo_u128 b, int64_t pb)
{
    int64_t la = (int64_t)bitlen128(a) + pa, lb = (int64_t)bitlen128(b) + pb;
    if (la != lb) {
        return la < lb ? -1 : 1;
    }
    /* Same magnitude: shifting the one with the larger exponent down to the other's exponent
     * keeps it within 128 bits (it then has as many bits as the other). */
    if (pa > pb) {
        a <<= (unsigned)(pa - pb);
    } else if (pb > pa) {
        b <<= (unsigned)(pb - pa);
    }
    return a < b ? -1 : a > b ? 1 : 0;
}

/* floor(x / 2^n) for a signed x (a right shift of a negative value is implementation-defined). */
static int64_t floor_shift(int64_t x, unsigned n)
{
    if (x >= 0) {
        return x >> n;
    }
    return -(int64_t)(((uint64_t)(-(x + 1))) >> n) - 1;
}

/* a * b / 2^FRAC_BITS rounded down, or up with |up|; a, b < 2^126 so the 252-bit product's high
 * half is below 2^124 and the result fits 128 bits. */
static slo_u128 mul_fix(slo_u128 a, slo_u128 b, bool up)
{
    uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
    uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
    slo_u128 p00 = (slo_u128)a0 * b0, p01 = (slo_u128)a0 * b1;
    slo_u128 p10 = (slo_u128)a1 * b0, p11 = (slo_u128)a1 * b1;
    slo_u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10; /* < 3 * 2^64 */
    slo_u128 lo = (mid << 64) | (uint64_t)p00;
    slo_u128 hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    slo_u128 r = (hi << (128 - FRAC_BITS)) | (lo >> FRAC_BITS);
    if (up && (lo & (((slo_u128)1 << FRAC_BITS) - 1)) != 0) {
        r++;
    }
    return r;
}

int slo_expo_thr_init(const struct slo_decimal *t, struct slo_expo_thr *out)
{
    out->t = *t;
    out->zero = t->num == 0;
    out->pow2 = false;
    out->e2 = 0;
    out->k20 = 0;
    if (out->zero) {
        return 0;
    }
    /* e2 = floor(log2 T): num in [2^(bn-1), 2^bn) and den in [2^(bd-1), 2^bd) put log2 T in
     * (bn - bd - 1, bn - bd + 1), so it is bn - bd or one less. */
    int64_t a = (int64_t)bitlen128(t->num) - (int64_t)bitlen128(t->den);
    if (cmp_scaled(t->num, 0, t->den, a) < 0) {
        a--;
    }
    /* y = T / 2^a in [1, 2) as Y = floor(T * 2^(F - a)) by long division (F - a >= 64: one
     * bit of the quotient per step), with the remainder telling whether it is exact. */
    unsigned shift = (unsigned)(FRAC_BITS - a);
    slo_u128 q = t->num / t->den;
    uint64_t r = t->num % t->den;
    for (unsigned i = 0; i < shift; i++) {
        r <<= 1; /* r < den < 2^60 */
        q <<= 1;
        if (r >= t->den) {
            r -= t->den;
            q |= 1;
        }
    }
    const slo_u128 one = (slo_u128)1 << FRAC_BITS, two = one << 1;
    slo_u128 lo = q, hi = q + (r != 0);
    out->pow2 = lo == one && hi == one;
    /* The binary digits of log2 y: y^2 >= 2 gives a 1 and y := y^2 / 2, else a 0 and y := y^2.
     * lo <= y * 2^F <= hi throughout; a digit counts only when both bounds give it. */
    int64_t frac = 0;
    for (int d = 0; d < K_SCALE; d++) {
        slo_u128 l2 = mul_fix(lo, lo, false), h2 = mul_fix(hi, hi, true);
        int bit;
        if (l2 >= two) {
            bit = 1;
            lo = l2 >> 1;
            hi = (h2 >> 1) + (h2 & 1);
        } else if (h2 < two) {
            bit = 0;
            lo = l2;
            hi = h2;
        } else {
            return AG_EUNSUPP;
        }
        frac = frac * 2 + bit;
    }
    out->e2 = a;
    out->k20 = a * ((int64_t)1 << K_SCALE) + frac;
    return 0;
}

int64_t slo_expo_cut(const struct slo_expo_thr *t, int scale)
{
    if (t->zero) {
        return INT64_MIN / 4;
    }
    return floor_shift(t->k20, (unsigned)(K_SCALE - scale));
}

bool slo_expo_is_bound(const struct slo_expo_thr *t, int scale)
{
    if (t->zero) {
        return true; /* 0 is the zero bucket's bound (zero_threshold 0) */
    }
    if (!t->pow2) {
        return false;
    }
    if (scale >= 0) {
        return true;
    }
    /* 2^e2 is a bound of scale s < 0 (bounds 2^(k * 2^-s)) iff 2^-s divides e2. */
    return floor_shift(t->e2, (unsigned)-scale) * ((int64_t)1 << -scale) == t->e2;
}

double slo_expo_effective_bound(const struct slo_expo_thr *t, int scale)
{
    if (t->zero) {
        return 0;
    }
    return exp2(ldexp((double)slo_expo_cut(t, scale), -scale));
}

/* True when |x| (finite, > 0) <= num / den, exactly. */
static bool double_le_decimal(double x, const struct slo_decimal *t)
{
    if (t->num == 0) {
        return false;
    }
    int e;
    double m = frexp(x, &e); /* x = m * 2^e, m in [0.5, 1) */
    uint64_t mant = (uint64_t)ldexp(m, 53);
    /* x <= num / den  <=>  mant * den * 2^(e - 53) <= num */
    return cmp_scaled((slo_u128)mant * t->den, (int64_t)e - 53, t->num, 0) <= 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

int slo_expo_ladder(const struct slo_expo_thr *t, const struct slo_expo_point *p, uint64_t *out)
{
    if (p->scale < SLO_EXPO_MIN_SCALE || p->scale > SLO_EXPO_MAX_SCALE ||
        !isfinite(p->zero_threshold) || p->zero_threshold < 0) {
        return AG_EINVAL;
    }
    uint64_t base = 0;
    for (size_t i = 0; i < p->n_neg; i++) {
        base = sat_add(base, p->neg[i]);
    }
    if (p->zero_threshold == 0 || double_le_decimal(p->zero_threshold, &t->t)) {
        base = sat_add(base, p->zero_count);
    }
    /* The positive buckets counted at scale s - j are those of index < k_(s-j) * 2^j at scale s:
     * the first n_j of them, n_j shrinking as j grows, so one pass from the coarsest scale. */
    int levels = p->scale - SLO_EXPO_MIN_SCALE + 1;
    size_t n_good[SLO_EXPO_LADDER];
    for (int j = 0; j < levels; j++) {
        int64_t c = 0;
        if (!t->zero) {
            c = slo_expo_cut(t, p->scale - j) * ((int64_t)1 << j); /* |c| < 2^27 * 2^30 */
        }
        int64_t n = t->zero ? 0 : c - (int64_t)p->pos_offset;
        n_good[j] = n <= 0 ? 0 : (uint64_t)n >= p->n_pos ? p->n_pos : (size_t)n;
    }
    uint64_t sum = base;
    size_t at = 0;
    for (int j = levels - 1; j >= 0; j--) {
        while (at < n_good[j]) {
            sum = sat_add(sum, p->pos[at++]);
        }
        out[j] = sum < p->count ? sum : p->count;
    }
    int n = levels;
    while (n > 1 && out[n - 2] == out[n - 1]) {
        n--;
    }
    return n;
}
