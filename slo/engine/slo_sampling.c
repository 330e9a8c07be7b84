/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A sampled span's adjusted count from its W3C tracestate (slo_sampling.h): the OpenTelemetry
 * `ot` entry's `th` threshold (or the older `p` value), in 32.32 fixed point. Outside input:
 * every byte is checked, nothing is allocated, and tests/fuzz/fuzz_slo_tracestate.c fuzzes it.
 */
#include "slo_sampling.h"

#include <string.h>

#define TH_DIGITS 14 /* 56 bits */

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* |n| (1..14) hex digits at |s| as a 56-bit value, right-padded with zeros: the `th` and `rv`
 * encoding. Returns false on a bad digit or length. */
static bool hex56(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > TH_DIGITS) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(s[i]);
        if (h < 0) {
            return false;
        }
        v = (v << 4) | (uint64_t)h;
    }
    *out = v << (4 * (TH_DIGITS - n));
    return true;
}

/* An unsigned decimal of at most 3 digits (p and r are 0..63). */
static bool small_dec(const char *s, size_t n, unsigned *out)
{
    if (n == 0 || n > 3) {
        return false;
    }
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* The characters of an `ot` sub-key's value (TraceState Handling: ALPHA / DIGIT / . _ -). */
static bool value_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static enum slo_ts_status bad(const char **why, const char *msg, slo_u128 *weight)
{
    if (why != NULL) {
        *why = msg;
    }
    *weight = SLO_WEIGHT_ONE;
    return SLO_TS_MALFORMED;
}

/* The `ot` entry's value |v| (|n| bytes). */
static enum slo_ts_status read_ot(const char *v, size_t n, slo_u128 *weight, const char **why)
{
    if (n > SLO_TS_OT_MAX) {
        return bad(why, "the ot entry is longer than 256 characters", weight);
    }
    bool has_th = false, has_rv = false, has_p = false, has_r = false;
    uint64_t th = 0, rv = 0;
    unsigned p = 0, r = 0;
    size_t i = 0;
    while (i <= n) {
        size_t end = i;
        while (end < n && v[end] != ';') {
            end++;
        }
        /* One sub-key: key ':' value, key = lcalpha *(lcalpha / DIGIT). */
        size_t k = i;
        if (k == end || v[k] < 'a' || v[k] > 'z') {
            return bad(why, "an ot sub-key is empty or does not start with a-z", weight);
        }
        while (k < end && ((v[k] >= 'a' && v[k] <= 'z') || (v[k] >= '0' && v[k] <= '9'))) {
            k++;
        }
        if (k == end || v[k] != ':') {
            return bad(why, "an ot sub-key is not key:value", weight);
        }
        const char *key = v + i, *val = v + k + 1;
        size_t klen = k - i, vlen = end - k - 1;
        for (size_t j = 0; j < vlen; j++) {
            if (!value_char(val[j])) {
                return bad(why, "an ot value has a character other than A-Z a-z 0-9 . _ -", weight);
            }
        }
        if (klen == 2 && memcmp(key, "th", 2) == 0) {
            if (has_th) {
                return bad(why, "th appears twice", weight);
            }
            if (!hex56(val, vlen, &th)) {
                return bad(why, "th is not 1 to 14 hex digits", weight);
            }
            has_th = true;
        } else if (klen == 2 && memcmp(key, "rv", 2) == 0) {
            if (has_rv) {
                return bad(why, "rv appears twice", weight);
            }
            if (vlen != TH_DIGITS || !hex56(val, vlen, &rv)) {
                return bad(why, "rv is not 14 hex digits", weight);
            }
            has_rv = true;
        } else if (klen == 1 && key[0] == 'p') {
            if (has_p) {
                return bad(why, "p appears twice", weight);
            }
            if (!small_dec(val, vlen, &p) || p > 63) {
                return bad(why, "p is not a decimal from 0 to 63", weight);
            }
            has_p = true;
        } else if (klen == 1 && key[0] == 'r') {
            if (has_r) {
                return bad(why, "r appears twice", weight);
            }
            if (!small_dec(val, vlen, &r) || r > 62) {
                return bad(why, "r is not a decimal from 0 to 62", weight);
            }
            has_r = true;
        }
        i = end + 1;
    }
    if (has_th) {
        if (has_rv && rv < th) {
            return bad(why, "inconsistent: a kept span has rv >= th, here rv < th", weight);
        }
        /* adjusted count = 2^56 / (2^56 - T), to the nearest 2^-32: (2^88 + D/2) / D. */
        slo_u128 d = ((slo_u128)1 << 56) - th;
        *weight = (((slo_u128)1 << 88) + d / 2) / d;
        return SLO_TS_ADJUSTED;
    }
    if (has_p) {
        if (p == 63) {
            *weight = 0; /* zero adjusted count: a non-probability sampler kept it */
            return SLO_TS_ADJUSTED;
        }
        if (has_r && p > r) {
            return bad(why, "inconsistent: a sampled span has p <= r, here p > r", weight);
        }
        *weight = (slo_u128)1 << (SLO_WEIGHT_FRAC_BITS + p);
        return SLO_TS_ADJUSTED;
    }
    *weight = SLO_WEIGHT_ONE;
    return SLO_TS_NONE;
}

enum slo_ts_status slo_tracestate_weight(const char *ts, size_t len, slo_u128 *weight,
                                         const char **why)
{
    const char *ot = NULL;
    size_t ot_len = 0;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && ts[end] != ',') {
            end++;
        }
        size_t a = i, b = end;
        while (a < b && ows(ts[a])) {
            a++;
        }
        while (b > a && ows(ts[b - 1])) {
            b--;
        }
        if (a < b) {
            const char *eq = memchr(ts + a, '=', b - a);
            if (eq == NULL || eq == ts + a) {
                return bad(why, "a tracestate member is not key=value", weight);
            }
            if ((size_t)(eq - (ts + a)) == 2 && ts[a] == 'o' && ts[a + 1] == 't') {
                if (ot != NULL) {
                    return bad(why, "the ot entry appears twice", weight);
                }
                ot = eq + 1;
                ot_len = (size_t)(ts + b - ot);
            }
        }
        i = end + 1;
    }
    if (ot == NULL) {
        *weight = SLO_WEIGHT_ONE;
        return SLO_TS_NONE;
    }
    return read_ot(ot, ot_len, weight, why);
}
