/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the rolling window against a brute-force recount: the input is a stream of operations
 * (add at an offset before or after the clock, advance, query) on a 2-day window with 1-minute
 * buckets and 5m / 1h / 1d lookbacks. Every query must equal the recount of the accepted
 * observations whose bucket lies in [now - L, now); counts never go negative or above the sum.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slo_window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MIN 60000ll
#define MAX_EVENTS 512
#define B 1735689600000ll

struct ev {
    int64_t t;
    uint32_t good, total;
};

static uint32_t rd(const uint8_t **p, const uint8_t *end, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n && *p < end; i++) {
        v = v << 8 | *(*p)++;
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t lbs[] = {5 * MIN, 60 * MIN, 24 * 60 * MIN};
    static struct ev evs[MAX_EVENTS];
    const uint64_t all[] = {5 * MIN, 60 * MIN, 24 * 60 * MIN, 48 * 60 * MIN};
    struct slo_window_config cfg = {48 * 60 * MIN, lbs, 3, 0, 0};
    struct slo_window *w = NULL;
    size_t n = 0;
    const uint8_t *p = data, *end = data + size;

    if (slo_window_new(&cfg, B, &w) != 0) {
        abort();
    }
    while (p < end) {
        uint8_t op = *p++;
        int64_t now = slo_window_now(w);
        if (op % 3 == 0 && n < MAX_EVENTS) {
            /* Up to ~3 days back or ~1 hour ahead of the clock, in seconds. */
            int64_t delta = (int64_t)rd(&p, end, 3) % (3 * 86400 + 3600) - 3 * 86400;
            int64_t t = now + delta * 1000;
            uint32_t total = rd(&p, end, 1), good = total ? rd(&p, end, 1) % (total + 1) : 0;
            if (t < 0) {
                continue;
            }
            struct slo_window_stats before, after;
            slo_window_get_stats(w, &before);
            if (slo_window_add(w, t, good, total) != 0) {
                abort();
            }
            slo_window_get_stats(w, &after);
            if (after.too_old == before.too_old) {
                evs[n++] = (struct ev){t, good, total};
            } else if (t >= slo_window_now(w) - 48 * 60 * MIN) {
                abort(); /* refused although inside the window */
            }
        } else if (op % 3 == 1) {
            slo_window_advance(w, now + (int64_t)rd(&p, end, 2) * 1000);
        } else {
            for (size_t j = 0; j < sizeof(all) / sizeof(all[0]); j++) {
                struct slo_counts got, want = {0, 0};
                int64_t t = slo_window_now(w);
                if (slo_window_counts(w, all[j], &got) != 0 ||
                    slo_window_resolution_ms(w, all[j]) != (uint64_t)MIN) {
                    abort();
                }
                for (size_t i = 0; i < n; i++) {
                    int64_t s = evs[i].t - evs[i].t % MIN;
                    if (s >= t - (int64_t)all[j] && s + MIN <= t) {
                        want.good += evs[i].good;
                        want.total += evs[i].total;
                    }
                }
                if (got.good != want.good || got.total != want.total || got.good > got.total) {
                    abort();
                }
            }
        }
    }
    slo_window_free(w);
    return 0;
}
