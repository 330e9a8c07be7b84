/* SPDX-License-Identifier: Apache-2.0 */
/* The coarse ring of period groups for long rolling RatioTimeslices windows (slo_groups.h). */
#include "slo_groups.h"

#include <string.h>

#include "ag_mem.h"
#include "slo_codec.h"

#define RATIO_ONE 1000000000000000000ull

struct slo_groups {
    uint64_t width; /* ms */
    size_t cap;
    int64_t last;  /* start of the last put's group; -1: none */
    uint64_t *sum; /* per slot */
    uint8_t *n;
    uint8_t *inexact;
};

size_t slo_groups_bytes_for(uint64_t group_ms, uint64_t span_ms)
{
    if (group_ms == 0 || span_ms % group_ms != 0) {
        return 0;
    }
    size_t cap = (size_t)(span_ms / group_ms) + 1;
    return sizeof(struct slo_groups) + cap * (sizeof(uint64_t) + 2);
}

int slo_groups_new(uint64_t group_ms, uint64_t span_ms, struct slo_groups **out)
{
    *out = NULL;
    if (slo_groups_bytes_for(group_ms, span_ms) == 0) {
        return AG_EINVAL;
    }
    struct slo_groups *g = ag_calloc(1, sizeof(*g));
    if (g == NULL) {
        return AG_ENOMEM;
    }
    g->width = group_ms;
    g->cap = (size_t)(span_ms / group_ms) + 1;
    g->last = -1;
    g->sum = ag_calloc(g->cap, sizeof(*g->sum));
    g->n = ag_calloc(g->cap, 1);
    g->inexact = ag_calloc(g->cap, 1);
    if (g->sum == NULL || g->n == NULL || g->inexact == NULL) {
        slo_groups_free(g);
        return AG_ENOMEM;
    }
    *out = g;
    return 0;
}

void slo_groups_free(struct slo_groups *g)
{
    if (g == NULL) {
        return;
    }
    ag_free(g->sum);
    ag_free(g->n);
    ag_free(g->inexact);
    ag_free(g);
}

size_t slo_groups_bytes(const struct slo_groups *g)
{
    return g == NULL ? 0 : sizeof(*g) + g->cap * (sizeof(*g->sum) + 2);
}

static size_t slot(const struct slo_groups *g, int64_t start)
{
    return (size_t)(((uint64_t)start / g->width) % g->cap);
}

static void clear(struct slo_groups *g, size_t i)
{
    g->sum[i] = 0;
    g->n[i] = 0;
    g->inexact[i] = 0;
}

void slo_groups_put(struct slo_groups *g, int64_t t_ms, uint64_t sum, uint32_t n, uint32_t inexact)
{
    int64_t s = t_ms - t_ms % (int64_t)g->width;
    if (g->last < 0 || s > g->last) {
        /* A new group: it and every group skipped since the last put start from zero. */
        uint64_t skipped = g->last < 0 ? g->cap : (uint64_t)(s - g->last) / g->width;
        if (skipped >= g->cap) {
            memset(g->sum, 0, g->cap * sizeof(*g->sum));
            memset(g->n, 0, g->cap);
            memset(g->inexact, 0, g->cap);
        } else {
            for (int64_t x = g->last + (int64_t)g->width; x <= s; x += (int64_t)g->width) {
                clear(g, slot(g, x));
            }
        }
        g->last = s;
    }
    size_t i = slot(g, s);
    g->sum[i] += sum;
    g->n[i] = (uint8_t)(g->n[i] + n);
    g->inexact[i] = (uint8_t)(g->inexact[i] + inexact);
}

bool slo_groups_get(const struct slo_groups *g, int64_t start_ms, uint64_t *sum, uint32_t *n,
                    uint32_t *inexact)
{
    if (g->last < 0 || start_ms > g->last || start_ms % (int64_t)g->width != 0 ||
        (uint64_t)(g->last - start_ms) / g->width >= g->cap) {
        return false;
    }
    size_t i = slot(g, start_ms);
    *sum = g->sum[i];
    *n = g->n[i];
    *inexact = g->inexact[i];
    return true;
}

int64_t slo_groups_last(const struct slo_groups *g)
{
    return g->last;
}

uint64_t slo_groups_width(const struct slo_groups *g)
{
    return g->width;
}

void slo_groups_save(const struct slo_groups *g, struct slo_wr *w)
{
    slo_put_u64(w, g->width);
    slo_put_u64(w, g->cap);
    slo_put_i64(w, g->last);
    for (size_t i = 0; i < g->cap; i++) {
        slo_put_u64(w, g->sum[i]);
        slo_put_u64(w, (uint64_t)g->n[i] | (uint64_t)g->inexact[i] << 8);
    }
}

int slo_groups_load(struct slo_groups *g, struct slo_rd *r, uint32_t max_n)
{
    uint64_t width = slo_get_u64(r), cap = slo_get_u64(r);
    int64_t last = slo_get_i64(r);
    if (r->bad || width != g->width || cap != g->cap || last < -1 ||
        (last >= 0 && last % (int64_t)width != 0)) {
        return AG_EPROTO;
    }
    g->last = last;
    for (size_t i = 0; i < g->cap; i++) {
        uint64_t sum = slo_get_u64(r), v = slo_get_u64(r);
        uint64_t n = v & 0xff, inexact = (v >> 8) & 0xff;
        if (r->bad || v >> 16 != 0 || n > max_n || inexact > n || sum / RATIO_ONE > n ||
            (sum / RATIO_ONE == n && sum % RATIO_ONE != 0) || (last < 0 && n != 0)) {
            return AG_EPROTO;
        }
        g->sum[i] = sum;
        g->n[i] = (uint8_t)n;
        g->inexact[i] = (uint8_t)inexact;
    }
    return 0;
}
