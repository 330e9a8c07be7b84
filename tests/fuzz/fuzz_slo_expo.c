/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the exponential-histogram rule (slo_expo: outside input from OTLP points: scale, offset,
 * bucket counts, zero threshold; a threshold from the definitions). Input: a length byte and
 * that many bytes of threshold text, a scale byte (-11..22: some out of range), a 4-byte offset,
 * a zero count, a zero-threshold selector, then one bucket count per byte. Checks: K within
 * floating-point reach of 2^20 * log2 T (a coarse independent check; the exact one is the unit
 * test's), every good count of the ladder equal to a direct count over the merged buckets, the
 * ladder non-increasing and at most the count, malformed points refused.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slo_expo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t floor_shift(int64_t x, int n)
{
    return x >= 0 ? x >> n : -((-x - 1) >> n) - 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t tl = data[0] % 24;
    if (size < 1 + tl + 7) {
        return 0;
    }
    struct slo_decimal d;
    if (slo_decimal_parse((const char *)data + 1, tl, &d, NULL) != 0) {
        return 0;
    }
    struct slo_expo_thr t;
    int rc = slo_expo_thr_init(&d, &t);
    if (rc == AG_EUNSUPP) {
        return 0;
    }
    if (rc != 0) {
        abort();
    }
    if (!t.zero) {
        long double x = log2l((long double)d.num / (long double)d.den) * 1048576.0L;
        if (!((long double)t.k20 <= x + 1e-3L && x < (long double)t.k20 + 1 + 1e-3L)) {
            abort();
        }
        if (t.pow2 && exp2((double)t.e2) != (double)d.num / (double)d.den) {
            abort();
        }
    }
    const uint8_t *p = data + 1 + tl;
    struct slo_expo_point pt;
    memset(&pt, 0, sizeof(pt));
    pt.scale = (int)(p[0] % 34) - 11;
    uint32_t off =
        (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24;
    /* Mostly offsets near the cut, where the answer changes; sometimes anywhere. */
    if (pt.scale >= SLO_EXPO_MIN_SCALE && pt.scale <= SLO_EXPO_MAX_SCALE && !(p[4] & 0x80) &&
        !t.zero) {
        pt.pos_offset = (int32_t)(slo_expo_cut(&t, pt.scale) - (int64_t)(off % 80));
    } else {
        memcpy(&pt.pos_offset, &off, sizeof(off));
    }
    pt.zero_count = p[5];
    /* Zero thresholds whose comparison with T is exact in long double: powers of two (zt * den
     * is exact), or far below any T > 0. */
    static const double zts[] = {0.0, 0.25, 1e-300, 1024.0, 4.0, -1.0, INFINITY};
    pt.zero_threshold = zts[p[6] % 7];
    uint64_t pos[64];
    size_t n = size - (size_t)(p + 7 - data);
    n = n > 64 ? 64 : n;
    uint64_t sum = pt.zero_count;
    for (size_t i = 0; i < n; i++) {
        pos[i] = p[7 + i];
        sum += pos[i];
    }
    pt.pos = pos;
    pt.n_pos = n;
    pt.count = sum - (p[6] >> 7); /* sometimes one less than the buckets: good is capped */
    uint64_t lad[SLO_EXPO_LADDER];
    int nl = slo_expo_ladder(&t, &pt, lad);
    bool bad = pt.scale < SLO_EXPO_MIN_SCALE || pt.scale > SLO_EXPO_MAX_SCALE ||
               pt.zero_threshold < 0 || isinf(pt.zero_threshold);
    if (bad) {
        if (nl != AG_EINVAL) {
            abort();
        }
        return 0;
    }
    if (nl < 1 || nl > pt.scale - SLO_EXPO_MIN_SCALE + 1) {
        abort();
    }
    bool zero_good = pt.zero_threshold == 0 ||
                     (long double)pt.zero_threshold * (long double)d.den <= (long double)d.num;
    for (int j = 0; j <= pt.scale - SLO_EXPO_MIN_SCALE; j++) {
        uint64_t want = zero_good ? pt.zero_count : 0;
        if (!t.zero) {
            int64_t cut = slo_expo_cut(&t, pt.scale - j);
            for (size_t i = 0; i < n; i++) {
                int64_t idx = (int64_t)pt.pos_offset + (int64_t)i;
                if (floor_shift(idx, j) < cut) {
                    want += pos[i];
                }
            }
        }
        want = want < pt.count ? want : pt.count;
        uint64_t got = lad[j < nl ? j : nl - 1];
        if (got != want) {
            abort();
        }
        if (got > pt.count || (j > 0 && got > lad[(j - 1) < nl ? j - 1 : nl - 1])) {
            abort();
        }
    }
    return 0;
}
