/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The awsemf exporter's cumulative -> delta cache: a chained hash table of series plus a list in
 * update order, so the TTL sweep and the cap eviction both take the oldest entries first in O(1)
 * each (upstream's cache grew without bound for a while: collector-contrib #25058).
 */
#include "ex_cw_delta.h"
#include "ag_mem.h"

#include <string.h>

struct entry {
    struct entry *hnext;         /* hash chain */
    struct entry *older, *newer; /* update-order list */
    uint64_t hash;
    uint64_t start_ns, time_ns; /* of the last point */
    uint64_t touched_ns;        /* wall clock of the last update (TTL) */
    double value;               /* the last raw cumulative value */
    size_t klen;
    unsigned char key[];
};

struct ex_cw_delta {
    struct entry **buckets;
    size_t nbuckets; /* power of two */
    size_t max_entries;
    uint64_t ttl_ns;
    struct entry *oldest, *newest;
    struct ex_cw_delta_stats st;
};

/* A word-at-a-time multiplicative hash (keys are a few hundred bytes). */
static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w ^ ((uint64_t)n << 56)) * 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 31);
}

int ex_cw_delta_new(size_t max_entries, uint64_t ttl_ns, struct ex_cw_delta **out)
{
    *out = NULL;
    struct ex_cw_delta *d = ag_calloc(1, sizeof(*d));
    if (d == NULL) {
        return AG_ENOMEM;
    }
    d->max_entries = max_entries > 0 ? max_entries : EX_CW_DELTA_DEFAULT_MAX_ENTRIES;
    d->ttl_ns = ttl_ns > 0 ? ttl_ns : EX_CW_DELTA_DEFAULT_TTL_NS;
    /* About one bucket per entry, capped so a huge cap does not cost memory up front. */
    size_t want = d->max_entries < 65536 ? d->max_entries : 65536;
    d->nbuckets = 16;
    while (d->nbuckets < want) {
        d->nbuckets <<= 1;
    }
    d->buckets = ag_calloc(d->nbuckets, sizeof(*d->buckets));
    if (d->buckets == NULL) {
        ag_free(d);
        return AG_ENOMEM;
    }
    *out = d;
    return 0;
}

void ex_cw_delta_free(struct ex_cw_delta *d)
{
    if (d == NULL) {
        return;
    }
    struct entry *e = d->oldest;
    while (e != NULL) {
        struct entry *n = e->newer;
        ag_free(e);
        e = n;
    }
    ag_free(d->buckets);
    ag_free(d);
}

static void list_unlink(struct ex_cw_delta *d, struct entry *e)
{
    if (e->older != NULL) {
        e->older->newer = e->newer;
    } else {
        d->oldest = e->newer;
    }
    if (e->newer != NULL) {
        e->newer->older = e->older;
    } else {
        d->newest = e->older;
    }
    e->older = e->newer = NULL;
}

static void list_push_newest(struct ex_cw_delta *d, struct entry *e)
{
    e->older = d->newest;
    e->newer = NULL;
    if (d->newest != NULL) {
        d->newest->newer = e;
    } else {
        d->oldest = e;
    }
    d->newest = e;
}

static void remove_entry(struct ex_cw_delta *d, struct entry *e)
{
    struct entry **pp = &d->buckets[e->hash & (d->nbuckets - 1)];
    while (*pp != e) {
        pp = &(*pp)->hnext;
    }
    *pp = e->hnext;
    list_unlink(d, e);
    d->st.entries--;
    ag_free(e);
}

void ex_cw_delta_expire(struct ex_cw_delta *d, uint64_t now_ns)
{
    while (d->oldest != NULL && now_ns > d->oldest->touched_ns &&
           now_ns - d->oldest->touched_ns > d->ttl_ns) {
        remove_entry(d, d->oldest);
        d->st.evicted_ttl++;
    }
}

int ex_cw_delta_update(struct ex_cw_delta *d, const void *key, size_t klen, uint64_t start_ns,
                       uint64_t time_ns, uint64_t now_ns, double value, int monotonic,
                       int retain_initial, double *value_out)
{
    ex_cw_delta_expire(d, now_ns);
    uint64_t h = hash_bytes(key, klen);
    struct entry *e = d->buckets[h & (d->nbuckets - 1)];
    while (e != NULL && !(e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)) {
        e = e->hnext;
    }
    if (e == NULL) {
        e = ag_malloc(sizeof(*e) + (klen > 0 ? klen : 1));
        if (e == NULL) {
            return AG_ENOMEM;
        }
        if (d->st.entries >= d->max_entries) {
            remove_entry(d, d->oldest);
            d->st.evicted_cap++;
        }
        memcpy(e->key, key, klen);
        e->klen = klen;
        e->hash = h;
        e->hnext = d->buckets[h & (d->nbuckets - 1)];
        d->buckets[h & (d->nbuckets - 1)] = e;
        list_push_newest(d, e);
        d->st.entries++;
        e->start_ns = start_ns;
        e->time_ns = time_ns;
        e->touched_ns = now_ns;
        e->value = value;
        if (retain_initial) {
            *value_out = value;
            return EX_CW_DELTA_EMIT;
        }
        return EX_CW_DELTA_BASELINE;
    }
    int outcome = EX_CW_DELTA_EMIT;
    if (start_ns != 0 && e->start_ns != 0 && start_ns != e->start_ns) {
        /* A new start time: the process restarted. Everything since the new start is new
         * counting when it began after the last point we saw; an overlap cannot be split. */
        d->st.resets++;
        if (start_ns >= e->time_ns) {
            *value_out = value;
        } else {
            outcome = EX_CW_DELTA_BASELINE;
        }
    } else {
        double delta = value - e->value;
        if (monotonic && delta < 0) {
            d->st.resets++;
            delta = value;
        }
        *value_out = delta;
    }
    e->start_ns = start_ns;
    e->time_ns = time_ns;
    e->touched_ns = now_ns;
    e->value = value;
    list_unlink(d, e);
    list_push_newest(d, e);
    return outcome;
}

void ex_cw_delta_get_stats(const struct ex_cw_delta *d, struct ex_cw_delta_stats *out)
{
    *out = d->st;
}
