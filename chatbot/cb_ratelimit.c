/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Token buckets per client for the chatbot's API: a chained hash table of buckets plus a
 * least-recently-seen list, so the table stays bounded however many addresses show up.
 */
#include "cb_ratelimit.h"

#include <math.h>
#include <string.h>

#include "ag_mem.h"

struct bucket {
    char key[CB_RATELIMIT_MAX_KEY + 1];
    double tokens;
    uint64_t at_ms;               /* when |tokens| was computed */
    struct bucket *chain;         /* next in the hash slot */
    struct bucket *older, *newer; /* the seen list */
};

struct cb_ratelimit {
    double rate, burst;
    size_t max, count;
    size_t mask; /* slots - 1 */
    struct bucket **slots;
    struct bucket *oldest, *newest;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

struct cb_ratelimit *cb_ratelimit_new(double rate, double burst, size_t max_clients)
{
    if (!(rate > 0) || !(burst >= 1) || max_clients == 0 || max_clients > (1u << 24)) {
        return NULL;
    }
    struct cb_ratelimit *rl = ag_calloc(1, sizeof(*rl));
    if (rl == NULL) {
        return NULL;
    }
    size_t slots = 16;
    while (slots < max_clients * 2) {
        slots *= 2;
    }
    rl->slots = ag_calloc(slots, sizeof(*rl->slots));
    if (rl->slots == NULL) {
        ag_free(rl);
        return NULL;
    }
    rl->rate = rate;
    rl->burst = burst;
    rl->max = max_clients;
    rl->mask = slots - 1;
    return rl;
}

void cb_ratelimit_free(struct cb_ratelimit *rl)
{
    if (rl == NULL) {
        return;
    }
    struct bucket *b = rl->oldest;
    while (b != NULL) {
        struct bucket *n = b->newer;
        ag_free(b);
        b = n;
    }
    ag_free(rl->slots);
    ag_free(rl);
}

static void list_unlink(struct cb_ratelimit *rl, struct bucket *b)
{
    if (b->older != NULL) {
        b->older->newer = b->newer;
    } else {
        rl->oldest = b->newer;
    }
    if (b->newer != NULL) {
        b->newer->older = b->older;
    } else {
        rl->newest = b->older;
    }
    b->older = b->newer = NULL;
}

static void list_push(struct cb_ratelimit *rl, struct bucket *b)
{
    b->older = rl->newest;
    b->newer = NULL;
    if (rl->newest != NULL) {
        rl->newest->newer = b;
    } else {
        rl->oldest = b;
    }
    rl->newest = b;
}

static void slot_remove(struct cb_ratelimit *rl, struct bucket *b)
{
    struct bucket **pp = &rl->slots[hash(b->key) & rl->mask];
    while (*pp != NULL && *pp != b) {
        pp = &(*pp)->chain;
    }
    if (*pp == b) {
        *pp = b->chain;
    }
}

unsigned cb_ratelimit_take(struct cb_ratelimit *rl, const char *client, uint64_t now_ms)
{
    char key[CB_RATELIMIT_MAX_KEY + 1];
    size_t n = strnlen(client, CB_RATELIMIT_MAX_KEY);
    memcpy(key, client, n);
    key[n] = '\0';
    size_t slot = hash(key) & rl->mask;
    struct bucket *b = rl->slots[slot];
    while (b != NULL && strcmp(b->key, key) != 0) {
        b = b->chain;
    }
    if (b == NULL) {
        if (rl->count >= rl->max) {
            /* Reuse the least recently seen bucket for the newcomer. */
            b = rl->oldest;
            list_unlink(rl, b);
            slot_remove(rl, b);
            rl->count--;
        } else {
            b = ag_calloc(1, sizeof(*b));
            if (b == NULL) {
                return 0; /* out of memory: let the request through rather than refuse all */
            }
        }
        memcpy(b->key, key, n + 1);
        b->tokens = rl->burst;
        b->at_ms = now_ms;
        b->chain = rl->slots[slot];
        rl->slots[slot] = b;
        rl->count++;
        list_push(rl, b);
    } else {
        list_unlink(rl, b);
        list_push(rl, b);
        if (now_ms > b->at_ms) {
            b->tokens += (double)(now_ms - b->at_ms) / 1000.0 * rl->rate;
            if (b->tokens > rl->burst) {
                b->tokens = rl->burst;
            }
            b->at_ms = now_ms;
        }
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    double wait_s = (1.0 - b->tokens) / rl->rate;
    double up = ceil(wait_s);
    return up < 1 ? 1u : up > 86400 ? 86400u : (unsigned)up;
}

size_t cb_ratelimit_clients(const struct cb_ratelimit *rl)
{
    return rl->count;
}
