/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SLI extraction for otterd's slo exporter (specs/slo.md §2, §9): span classification, the index
 * from service and metric names to SLOs, and within a service from the first span attribute
 * matcher's key and value (so a span is classified only against the SLOs of its own route),
 * and the per-series state that turns cumulative counters and histograms into exact increases,
 * with resets detected from the start time.
 */
#include "slo_sli.h"
#include "ag_mem.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_SERIES 100000u
#define SAVE_MAGIC         "SLOM"
#define SAVE_VERSION       2u /* 2: exponential histogram series; 1 is still read */
#define SERIES_EXPO        4u /* the role byte of an exponential histogram series */

bool slo_attr_equals_n(const struct slo_attr *a, const char *text, size_t len)
{
    char num[32];
    int n;
    switch (a->type) {
    case SLO_ATTR_STR:
        return len == a->len && memcmp(text, a->str, len) == 0;
    case SLO_ATTR_INT:
        n = snprintf(num, sizeof(num), "%lld", (long long)a->i);
        return n > 0 && (size_t)n == len && memcmp(num, text, len) == 0;
    case SLO_ATTR_BOOL:
        return a->i ? len == 4 && memcmp(text, "true", 4) == 0
                    : len == 5 && memcmp(text, "false", 5) == 0;
    default:
        return false;
    }
}

bool slo_attr_equals(const struct slo_attr *a, const char *text)
{
    char num[32];
    switch (a->type) {
    case SLO_ATTR_STR:
        return strlen(text) == a->len && memcmp(text, a->str, a->len) == 0;
    case SLO_ATTR_INT:
        snprintf(num, sizeof(num), "%lld", (long long)a->i);
        return strcmp(num, text) == 0;
    case SLO_ATTR_BOOL:
        return strcmp(text, a->i ? "true" : "false") == 0;
    default:
        return false;
    }
}

/* ---- a small string-keyed open-addressing table ---------------------------------------------- */

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t load32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* A hash of |n| bytes at |p| read 8 at a time (the last word overlapping the one before), so a
 * route value costs a few multiplications instead of one per byte. In memory only: never saved. */
static inline uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = (seed ^ 0x9e3779b97f4a7c15ull) + n * 0xff51afd7ed558ccdull;
    uint64_t w;
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8) {
            h = (h ^ load64(s + i)) * 0xbf58476d1ce4e5b9ull;
            h ^= h >> 31;
        }
        w = load64(s + n - 8);
    } else if (n >= 4) {
        w = (uint64_t)load32(s) | (uint64_t)load32(s + n - 4) << 32;
    } else if (n > 0) {
        w = (uint64_t)s[0] | (uint64_t)s[n / 2] << 8 | (uint64_t)s[n - 1] << 16;
    } else {
        w = 0;
    }
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

struct slot {
    const char *key; /* NULL: empty */
    size_t len;
    uint64_t hash;
    size_t idx; /* into the owner's array */
};

struct table {
    struct slot *slots;
    size_t cap; /* a power of two, or 0 */
    size_t n;
};

static inline struct slot *table_find(const struct table *t, const char *key, size_t len,
                                      uint64_t h)
{
    if (t->cap == 0) {
        return NULL;
    }
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        struct slot *s = &t->slots[i];
        if (s->key == NULL) {
            return NULL;
        }
        if (s->hash == h && s->len == len && slo_sli_bytes_eq(s->key, key, len)) {
            return s;
        }
    }
}

static int table_grow(struct table *t)
{
    size_t cap = t->cap == 0 ? 16 : t->cap * 2;
    struct slot *slots = ag_calloc(cap, sizeof(*slots));
    if (slots == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].key != NULL) {
            size_t j = t->slots[i].hash & (cap - 1);
            while (slots[j].key != NULL) {
                j = (j + 1) & (cap - 1);
            }
            slots[j] = t->slots[i];
        }
    }
    ag_free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

/* Inserts a key known to be absent; |key| is borrowed and must outlive the table. */
static int table_put(struct table *t, const char *key, size_t len, uint64_t h, size_t idx)
{
    if ((t->n + 1) * 2 > t->cap && table_grow(t) != 0) {
        return AG_ENOMEM;
    }
    size_t i = h & (t->cap - 1);
    while (t->slots[i].key != NULL) {
        i = (i + 1) & (t->cap - 1);
    }
    t->slots[i] = (struct slot){key, len, h, idx};
    t->n++;
    return 0;
}

/* ---- the index ------------------------------------------------------------------------------- */

/* A span attribute matcher with its lengths, measured once when the index is built. */
struct lmatch {
    const char *key;
    size_t klen;
    const char *val;
    size_t vlen;
};

/* A spans SLO as the span path sees it. */
struct span_slo {
    const struct slo_sli_def *sli;
    struct lmatch *m; /* its span attribute matchers, in definition order */
    size_t n_m;
};

struct slo_list {
    size_t *slos;
    size_t n;
};

/* Span status bits a verdict reads (span_status_bits): bit k for an HTTP status code of class
 * kxx (1..9), SPAN_ERR without a code when the span's status is ERROR. */
#define SPAN_ERR (1u << 16)

/* A spans SLO compiled for the span path of its service: eligibility and verdict without the
 * definition. good = end - start <= max_ns && (bad & the span's status bits) == 0. */
struct hit_slo {
    uint64_t max_ns; /* latency: the threshold in ns; availability: UINT64_MAX */
    uint32_t slo;    /* index into defs->slos (slo_sli_index_new refuses more than fit) */
    uint32_t bad;    /* availability: the bad classes' bits, SPAN_ERR when status ERROR is bad */
    uint32_t kinds;  /* bit k: OTLP SpanKind k is eligible */
    uint32_t n_m;    /* the matchers still to check: the service's sm[m0 .. m0 + n_m) */
    size_t m0;
};

struct hit_list {
    struct hit_slo *h;
    size_t n;
};

/* A matcher still to check on a span: its key's slot in the service's keyset. */
struct slot_match {
    size_t slot;
    const char *key; /* for the callback path */
    size_t klen;
    const char *val;
    size_t vlen;
};

/* The SLOs of one service whose first span attribute matcher has key |key|, by its value. */
struct route_key {
    const char *key;
    size_t klen;
    size_t slot;         /* |key|'s slot in the service's keyset */
    struct table values; /* value text -> index into lists and hits */
    struct lmatch *vals; /* per list: its value (val, vlen) */
    struct slo_list *lists;
    struct hit_list *hits; /* lists compiled (compile_service) */
    size_t n_lists;
};

struct slo_sli_service {
    size_t *slos; /* all, in definition order */
    size_t n;
    struct slo_list plain; /* without span attribute matchers */
    struct hit_list plain_h;
    struct route_key *keys;
    size_t n_keys;
    struct slo_sli_keyset ks;  /* every span attribute key its SLOs read */
    struct slo_sli_key *ks_keys; /* ks.keys */
    struct slot_match *sm;     /* the SLOs' matchers after their route's (hit_slo.m0) */
    size_t n_sm;
    bool wants_status; /* some SLO is an availability SLO: slots 0 and 1 are the status keys */
};

struct name_entry {
    struct slo_metric_ref *refs;
    size_t n;
};

struct slo_sli_index {
    struct span_slo *span_slos; /* one per SLO (sli NULL: not a spans SLO) */
    size_t n_span_slos;
    size_t max_svc_slos;
    size_t max_svc_keys;
    struct table services;
    struct slo_sli_service *svc;
    size_t n_svc;
    struct table names;
    struct name_entry *names_e;
    size_t n_names;
};

static int list_push(struct slo_list *l, size_t slo)
{
    size_t *a = ag_realloc(l->slos, (l->n + 1) * sizeof(*a));
    if (a == NULL) {
        return AG_ENOMEM;
    }
    l->slos = a;
    a[l->n++] = slo;
    return 0;
}

/* Files SLO |slo| (whose span_slo is set) under its route in service |e|. */
static int index_route(struct slo_sli_index *ix, struct slo_sli_service *e, size_t slo)
{
    const struct span_slo *ss = &ix->span_slos[slo];
    if (ss->n_m == 0) {
        return list_push(&e->plain, slo);
    }
    const struct lmatch *m = &ss->m[0];
    struct route_key *rk = NULL;
    for (size_t k = 0; k < e->n_keys; k++) {
        if (e->keys[k].klen == m->klen && memcmp(e->keys[k].key, m->key, m->klen) == 0) {
            rk = &e->keys[k];
            break;
        }
    }
    if (rk == NULL) {
        struct route_key *a = ag_realloc(e->keys, (e->n_keys + 1) * sizeof(*a));
        if (a == NULL) {
            return AG_ENOMEM;
        }
        e->keys = a;
        rk = &a[e->n_keys++];
        memset(rk, 0, sizeof(*rk));
        rk->key = m->key;
        rk->klen = m->klen;
    }
    uint64_t h = hash_bytes(m->val, m->vlen, 0);
    struct slot *s = table_find(&rk->values, m->val, m->vlen, h);
    if (s == NULL) {
        struct lmatch *v = ag_realloc(rk->vals, (rk->n_lists + 1) * sizeof(*v));
        if (v == NULL) {
            return AG_ENOMEM;
        }
        rk->vals = v;
        v[rk->n_lists] = *m;
        struct slo_list *a = ag_realloc(rk->lists, (rk->n_lists + 1) * sizeof(*a));
        if (a == NULL) {
            return AG_ENOMEM;
        }
        rk->lists = a;
        a[rk->n_lists] = (struct slo_list){NULL, 0};
        if (table_put(&rk->values, m->val, m->vlen, h, rk->n_lists) != 0) {
            return AG_ENOMEM;
        }
        s = table_find(&rk->values, m->val, m->vlen, h);
        rk->n_lists++;
    }
    return list_push(&rk->lists[s->idx], slo);
}

/* Measures the span attribute matchers of SLO |slo| (spans SLI |sli|) once. */
static int prepare_span_slo(struct slo_sli_index *ix, const struct slo_sli_def *sli, size_t slo)
{
    struct span_slo *ss = &ix->span_slos[slo];
    ss->sli = sli;
    if (sli->n_attributes == 0) {
        return 0;
    }
    ss->m = ag_calloc(sli->n_attributes, sizeof(*ss->m));
    if (ss->m == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < sli->n_attributes; i++) {
        const struct slo_matcher *mt = &sli->attributes[i];
        ss->m[i] = (struct lmatch){mt->key, strlen(mt->key), mt->value, strlen(mt->value)};
    }
    ss->n_m = sli->n_attributes;
    return 0;
}

static int index_service(struct slo_sli_index *ix, const char *name, size_t slo)
{
    size_t len = strlen(name);
    uint64_t h = hash_bytes(name, len, 0);
    struct slot *s = table_find(&ix->services, name, len, h);
    if (s == NULL) {
        struct slo_sli_service *a = ag_realloc(ix->svc, (ix->n_svc + 1) * sizeof(*a));
        if (a == NULL) {
            return AG_ENOMEM;
        }
        ix->svc = a;
        memset(&a[ix->n_svc], 0, sizeof(a[ix->n_svc]));
        if (table_put(&ix->services, name, len, h, ix->n_svc) != 0) {
            return AG_ENOMEM;
        }
        s = table_find(&ix->services, name, len, h);
        ix->n_svc++;
    }
    struct slo_sli_service *e = &ix->svc[s->idx];
    size_t *l = ag_realloc(e->slos, (e->n + 1) * sizeof(*l));
    if (l == NULL) {
        return AG_ENOMEM;
    }
    e->slos = l;
    l[e->n++] = slo;
    if (e->n > ix->max_svc_slos) {
        ix->max_svc_slos = e->n;
    }
    return index_route(ix, e, slo);
}

static int index_metric(struct slo_sli_index *ix, const struct slo_metric_sel *sel, size_t slo,
                        enum slo_metric_role role)
{
    if (sel->name == NULL) {
        return 0;
    }
    size_t len = strlen(sel->name);
    uint64_t h = hash_bytes(sel->name, len, 0);
    struct slot *s = table_find(&ix->names, sel->name, len, h);
    if (s == NULL) {
        struct name_entry *a = ag_realloc(ix->names_e, (ix->n_names + 1) * sizeof(*a));
        if (a == NULL) {
            return AG_ENOMEM;
        }
        ix->names_e = a;
        a[ix->n_names] = (struct name_entry){NULL, 0};
        if (table_put(&ix->names, sel->name, len, h, ix->n_names) != 0) {
            return AG_ENOMEM;
        }
        s = table_find(&ix->names, sel->name, len, h);
        ix->n_names++;
    }
    struct name_entry *e = &ix->names_e[s->idx];
    struct slo_metric_ref *r = ag_realloc(e->refs, (e->n + 1) * sizeof(*r));
    if (r == NULL) {
        return AG_ENOMEM;
    }
    e->refs = r;
    r[e->n++] = (struct slo_metric_ref){slo, role, sel};
    return 0;
}

/* The HTTP status code's attribute names, the current one first (slots 0 and 1 of a service
 * with an availability SLO). */
static const char *const status_keys[2] = {"http.response.status_code", "http.status_code"};
static const size_t status_lens[2] = {sizeof("http.response.status_code") - 1,
                                      sizeof("http.status_code") - 1};

/* |key|'s slot in |e|'s keyset, added when new. Returns the slot, or AG_ENOMEM or AG_ETOOBIG
 * (negative). */
static long keyset_slot_add(struct slo_sli_service *e, const char *key, size_t len)
{
    for (size_t i = 0; i < e->ks.n; i++) {
        if (e->ks_keys[i].len == len && memcmp(e->ks_keys[i].key, key, len) == 0) {
            return (long)i;
        }
    }
    if (e->ks.n >= UINT32_MAX - 1) {
        return AG_ETOOBIG; /* by_len holds slot + 1 in 32 bits */
    }
    struct slo_sli_key *a = ag_realloc(e->ks_keys, (e->ks.n + 1) * sizeof(*a));
    if (a == NULL) {
        return AG_ENOMEM;
    }
    e->ks_keys = a;
    e->ks.keys = a;
    /* Chained in front of the keys of its by_len entry. */
    uint32_t *head = &e->ks.by_len[len < SLO_SLI_KEY_LENS ? len : SLO_SLI_KEY_LENS - 1];
    a[e->ks.n] = (struct slo_sli_key){key, len, *head};
    *head = (uint32_t)(e->ks.n + 1);
    e->ks.first[(unsigned char)key[0]] = 1;
    return (long)e->ks.n++;
}

/* Compiles |l| (SLOs whose first |skip| span attribute matchers are known to hold when the list
 * is read) into |out|: verdict data, and their other matchers' slots in |e|'s keyset. */
static int compile_list(const struct slo_sli_index *ix, struct slo_sli_service *e,
                        const struct slo_list *l, size_t skip, struct hit_list *out)
{
    out->h = ag_calloc(l->n > 0 ? l->n : 1, sizeof(*out->h));
    if (out->h == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < l->n; i++) {
        const struct span_slo *ss = &ix->span_slos[l->slos[i]];
        const struct slo_sli_def *sli = ss->sli;
        struct hit_slo *h = &out->h[out->n++];
        h->slo = (uint32_t)l->slos[i];
        h->kinds = (sli->kind_server ? 1u << SLO_SPAN_KIND_SERVER : 0) |
                   (sli->kind_consumer ? 1u << SLO_SPAN_KIND_CONSUMER : 0);
        if (sli->span_check == SLO_SPAN_LATENCY) {
            /* ms to ns cannot overflow for thresholds up to 10 years (slo_duration_parse's
             * cap). */
            h->max_ns = sli->latency_ms * 1000000ull;
            h->bad = 0;
        } else {
            h->max_ns = UINT64_MAX;
            /* Classes 1..9: the codes a span can carry (http_status: 100..999). */
            h->bad = (sli->bad_http_classes & 0x3feu) | (sli->status_error_bad ? SPAN_ERR : 0);
        }
        h->m0 = e->n_sm;
        for (size_t j = skip; j < ss->n_m; j++) {
            const struct lmatch *m = &ss->m[j];
            long slot = keyset_slot_add(e, m->key, m->klen);
            if (slot < 0) {
                return (int)slot;
            }
            struct slot_match *a = ag_realloc(e->sm, (e->n_sm + 1) * sizeof(*a));
            if (a == NULL) {
                return AG_ENOMEM;
            }
            e->sm = a;
            a[e->n_sm++] = (struct slot_match){(size_t)slot, m->key, m->klen, m->val, m->vlen};
        }
        h->n_m = (uint32_t)(e->n_sm - h->m0);
    }
    return 0;
}

/* Builds service |e|'s span path once its SLOs are filed: the keyset (the status keys first when
 * an availability SLO reads them, then the route keys, then the other matchers' keys) and the
 * compiled hit lists. */
static int compile_service(struct slo_sli_index *ix, struct slo_sli_service *e)
{
    for (size_t i = 0; i < e->n && !e->wants_status; i++) {
        e->wants_status = ix->span_slos[e->slos[i]].sli->span_check == SLO_SPAN_AVAILABILITY;
    }
    for (size_t k = 0; e->wants_status && k < 2; k++) {
        long slot = keyset_slot_add(e, status_keys[k], status_lens[k]);
        if (slot < 0) {
            return (int)slot;
        }
    }
    int rc = compile_list(ix, e, &e->plain, 0, &e->plain_h);
    for (size_t k = 0; rc == 0 && k < e->n_keys; k++) {
        struct route_key *rk = &e->keys[k];
        long slot = keyset_slot_add(e, rk->key, rk->klen);
        if (slot < 0) {
            return (int)slot;
        }
        rk->slot = (size_t)slot;
        rk->hits = ag_calloc(rk->n_lists > 0 ? rk->n_lists : 1, sizeof(*rk->hits));
        if (rk->hits == NULL) {
            return AG_ENOMEM;
        }
        for (size_t j = 0; rc == 0 && j < rk->n_lists; j++) {
            rc = compile_list(ix, e, &rk->lists[j], 1, &rk->hits[j]);
        }
    }
    if (rc == 0 && e->ks.n > ix->max_svc_keys) {
        ix->max_svc_keys = e->ks.n;
    }
    return rc;
}

int slo_sli_index_new(const struct slo_defs *defs, struct slo_sli_index **out)
{
    *out = NULL;
    if (defs->n_slos > UINT32_MAX) {
        return AG_ETOOBIG; /* the span path keeps SLO indexes in 32 bits */
    }
    struct slo_sli_index *ix = ag_calloc(1, sizeof(*ix));
    if (ix == NULL) {
        return AG_ENOMEM;
    }
    ix->span_slos = ag_calloc(defs->n_slos > 0 ? defs->n_slos : 1, sizeof(*ix->span_slos));
    if (ix->span_slos == NULL) {
        ag_free(ix);
        return AG_ENOMEM;
    }
    ix->n_span_slos = defs->n_slos;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < defs->n_slos; i++) {
        const struct slo_sli_def *sli = &defs->slis[defs->slos[i].sli];
        switch (sli->source) {
        case SLO_SRC_SPANS:
            if (sli->service != NULL) {
                rc = prepare_span_slo(ix, sli, i);
                if (rc == 0) {
                    rc = index_service(ix, sli->service, i);
                }
            }
            break;
        case SLO_SRC_COUNTERS:
            rc = index_metric(ix, &sli->good, i, SLO_ROLE_GOOD);
            if (rc == 0) {
                rc = index_metric(ix, &sli->bad, i, SLO_ROLE_BAD);
            }
            if (rc == 0) {
                rc = index_metric(ix, &sli->total, i, SLO_ROLE_TOTAL);
            }
            break;
        case SLO_SRC_HISTOGRAM:
            rc = index_metric(ix, &sli->histogram, i, SLO_ROLE_HISTOGRAM);
            break;
        default:
            break;
        }
    }
    for (size_t i = 0; rc == 0 && i < ix->n_svc; i++) {
        rc = compile_service(ix, &ix->svc[i]);
    }
    if (rc != 0) {
        slo_sli_index_free(ix);
        return rc;
    }
    *out = ix;
    return 0;
}

void slo_sli_index_free(struct slo_sli_index *ix)
{
    if (ix == NULL) {
        return;
    }
    for (size_t i = 0; i < ix->n_svc; i++) {
        struct slo_sli_service *e = &ix->svc[i];
        ag_free(e->slos);
        ag_free(e->plain.slos);
        ag_free(e->plain_h.h);
        for (size_t k = 0; k < e->n_keys; k++) {
            for (size_t j = 0; j < e->keys[k].n_lists; j++) {
                ag_free(e->keys[k].lists[j].slos);
                if (e->keys[k].hits != NULL) {
                    ag_free(e->keys[k].hits[j].h);
                }
            }
            ag_free(e->keys[k].lists);
            ag_free(e->keys[k].vals);
            ag_free(e->keys[k].hits);
            ag_free(e->keys[k].values.slots);
        }
        ag_free(e->keys);
        ag_free(e->ks_keys);
        ag_free(e->sm);
    }
    for (size_t i = 0; ix->span_slos != NULL && i < ix->n_span_slos; i++) {
        ag_free(ix->span_slos[i].m);
    }
    ag_free(ix->span_slos);
    for (size_t i = 0; i < ix->n_names; i++) {
        ag_free(ix->names_e[i].refs);
    }
    ag_free(ix->svc);
    ag_free(ix->names_e);
    ag_free(ix->services.slots);
    ag_free(ix->names.slots);
    ag_free(ix);
}

size_t slo_sli_spans_for(const struct slo_sli_index *ix, const char *name, size_t len,
                         const size_t **slos)
{
    struct slot *s = table_find(&ix->services, name, len, hash_bytes(name, len, 0));
    *slos = s != NULL ? ix->svc[s->idx].slos : NULL;
    return s != NULL ? ix->svc[s->idx].n : 0;
}

const struct slo_sli_service *slo_sli_service_find(const struct slo_sli_index *ix,
                                                   const char *name, size_t len)
{
    struct slot *s = table_find(&ix->services, name, len, hash_bytes(name, len, 0));
    return s != NULL ? &ix->svc[s->idx] : NULL;
}

size_t slo_sli_service_slos(const struct slo_sli_service *svc, const size_t **slos)
{
    *slos = svc->slos;
    return svc->n;
}

size_t slo_sli_max_service_slos(const struct slo_sli_index *ix)
{
    return ix->max_svc_slos;
}

const struct slo_sli_keyset *slo_sli_service_keyset(const struct slo_sli_service *svc)
{
    return &svc->ks;
}

size_t slo_sli_max_service_keys(const struct slo_sli_index *ix)
{
    return ix->max_svc_keys;
}

size_t slo_sli_metrics_for(const struct slo_sli_index *ix, const char *name, size_t len,
                           const struct slo_metric_ref **refs)
{
    struct slot *s = table_find(&ix->names, name, len, hash_bytes(name, len, 0));
    *refs = s != NULL ? ix->names_e[s->idx].refs : NULL;
    return s != NULL ? ix->names_e[s->idx].n : 0;
}

bool slo_sli_wants_spans(const struct slo_sli_index *ix)
{
    return ix->n_svc > 0;
}

bool slo_sli_wants_metrics(const struct slo_sli_index *ix)
{
    return ix->n_names > 0;
}

/* ---- spans ----------------------------------------------------------------------------------- */

static bool all_match(const struct slo_matcher *m, size_t n, slo_attr_fn *fn, const void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        struct slo_attr a = {SLO_ATTR_NONE, NULL, 0, 0};
        if (fn != NULL) {
            fn(ctx, m[i].key, &a);
        }
        if (!slo_attr_equals(&a, m[i].value)) {
            return false;
        }
    }
    return true;
}

bool slo_sli_resource_matches(const struct slo_sli_def *sli, slo_attr_fn *res, const void *res_ctx)
{
    return all_match(sli->resource, sli->n_resource, res, res_ctx);
}

/* Span |sp|'s attribute |key| (|len| bytes), through attr_len when the caller gave one. */
static void span_attr(const struct slo_span *sp, const char *key, size_t len, struct slo_attr *a)
{
    a->type = SLO_ATTR_NONE;
    if (sp->attr_len != NULL) {
        sp->attr_len(sp->attr_ctx, key, len, a);
    } else if (sp->attr != NULL) {
        sp->attr(sp->attr_ctx, key, a);
    }
}

/* The HTTP status code that attribute |a| carries (an integer 100..999 or three decimal digits
 * as text, 100 or more), or 0: as http_status() decides for one key. */
static int64_t status_of(const struct slo_attr *a)
{
    if (a->type == SLO_ATTR_INT) {
        return a->i >= 100 && a->i <= 999 ? a->i : 0;
    }
    if (a->type == SLO_ATTR_STR && a->len == 3) {
        const unsigned char *p = (const unsigned char *)a->str;
        unsigned d0 = p[0] - (unsigned)'0', d1 = p[1] - (unsigned)'0', d2 = p[2] - (unsigned)'0';
        if (d0 <= 9 && d1 <= 9 && d2 <= 9 && d0 >= 1) {
            return (int64_t)(d0 * 100 + d1 * 10 + d2);
        }
    }
    return 0;
}

/* The HTTP status code of a span, from the current or the old attribute name; 0 when absent. */
static int64_t http_status(const struct slo_span *sp)
{
    for (size_t k = 0; k < 2; k++) {
        struct slo_attr a = {SLO_ATTR_NONE, NULL, 0, 0};
        span_attr(sp, status_keys[k], status_lens[k], &a);
        int64_t code = status_of(&a);
        if (code != 0) {
            return code;
        }
    }
    return 0;
}

/* Whether eligible span |sp| is good for |sli| (kind and matchers already held). |*code| is the
 * span's HTTP status code once looked up (-1: not yet; 0: none): one lookup per span, however
 * many availability SLOs it feeds. */
static void span_verdict(const struct slo_sli_def *sli, const struct slo_span *sp, int64_t *code,
                         bool *good)
{
    if (sli->span_check == SLO_SPAN_LATENCY) {
        uint64_t d = sp->end_ns > sp->start_ns ? sp->end_ns - sp->start_ns : 0;
        /* ms to ns cannot overflow for thresholds up to 10 years (slo_duration_parse's cap). */
        *good = d <= sli->latency_ms * 1000000ull;
        return;
    }
    if (*code < 0) {
        *code = http_status(sp);
    }
    if (*code != 0) {
        *good = (sli->bad_http_classes & (1u << (unsigned)(*code / 100))) == 0;
    } else {
        *good = !(sp->status_error && sli->status_error_bad);
    }
}

bool slo_sli_span(const struct slo_sli_def *sli, const struct slo_span *sp, bool *good)
{
    bool kind_ok = (sp->kind == SLO_SPAN_KIND_SERVER && sli->kind_server) ||
                   (sp->kind == SLO_SPAN_KIND_CONSUMER && sli->kind_consumer);
    if (!kind_ok || !all_match(sli->attributes, sli->n_attributes, sp->attr, sp->attr_ctx)) {
        return false;
    }
    int64_t code = -1;
    span_verdict(sli, sp, &code, good);
    return true;
}

/* Slot |slot| of span |sp|: vals[slot], or (vals NULL) looked up through the span's callback
 * into |tmp|. */
static inline __attribute__((always_inline)) const struct slo_attr *
slot_attr(const struct slo_sli_service *svc, const struct slo_span *sp,
          const struct slo_attr *vals, size_t slot, struct slo_attr *tmp)
{
    if (vals != NULL) {
        return &vals[slot];
    }
    span_attr(sp, svc->ks.keys[slot].key, svc->ks.keys[slot].len, tmp);
    return tmp;
}

/* True when every matcher of |h| after its route's holds for span |sp| (out of line: most SLOs
 * have none, and the loop that calls it stays small). */
static __attribute__((noinline)) bool
more_match(const struct slo_sli_service *svc, const struct hit_slo *h, const struct slo_span *sp,
           const struct slo_attr *vals)
{
    for (size_t j = h->m0; j < h->m0 + h->n_m; j++) {
        const struct slot_match *m = &svc->sm[j];
        struct slo_attr tmp;
        if (!slo_attr_equals_n(slot_attr(svc, sp, vals, m->slot, &tmp), m->val, m->vlen)) {
            return false;
        }
    }
    return true;
}

/* Appends to |out| (at |n|) the SLOs of |l| that span |sp| feeds, with their verdicts; returns
 * the new count. |kbit|: the span's kind bit; |dur|: its duration; |sbits|: its status bits.
 * Branch-light: every SLO's entry is written at out[n] and kept (n + 1) only when eligible, so
 * |out| needs room for one more than the SLOs before |l| (the service's count bounds it). */
static inline __attribute__((always_inline)) size_t
list_hits(const struct slo_sli_service *svc, const struct hit_list *l, const bool *res_ok,
          const struct slo_span *sp, const struct slo_attr *vals, uint32_t kbit, uint64_t dur,
          uint32_t sbits, struct slo_span_hit *out, size_t n)
{
    const struct hit_slo *h = l->h, *end = l->h + l->n;
    for (; h < end; h++) {
        uint32_t slo = h->slo;
        bool ok = res_ok[slo] & ((h->kinds & kbit) != 0);
        if (__builtin_expect(h->n_m != 0, 0) && ok) {
            ok = more_match(svc, h, sp, vals);
        }
        bool good = (dur <= h->max_ns) & ((h->bad & sbits) == 0);
        out[n] = (struct slo_span_hit){slo, good};
        n += ok;
    }
    return n;
}

/* Route keys with at most this many values compare them in turn instead of hashing. */
#define ROUTE_LINEAR_MAX 4u

/* Writes at most 20 decimal digits of |v| to |buf| (room for 21); returns their number. */
static size_t i64_text(int64_t v, char *buf)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    size_t len = 0;
    if (v < 0) {
        buf[len++] = '-';
    }
    while (n > 0) {
        buf[len++] = tmp[--n];
    }
    return len;
}

/* slo_sli_span_hits and slo_sli_span_hits_slots: the slots from |vals|, or (vals NULL) through
 * the span's callbacks. */
static inline __attribute__((always_inline)) size_t
span_hits(const struct slo_sli_service *svc, const bool *res_ok, const struct slo_span *sp,
          const struct slo_attr *vals, struct slo_span_hit *out)
{
    uint32_t kbit = 1u << (unsigned)sp->kind; /* SERVER or CONSUMER: checked by the callers */
    uint64_t dur = sp->end_ns > sp->start_ns ? sp->end_ns - sp->start_ns : 0;
    uint32_t sbits = 0;
    if (svc->wants_status) {
        struct slo_attr tmp;
        int64_t code = status_of(slot_attr(svc, sp, vals, 0, &tmp));
        if (code == 0) {
            code = status_of(slot_attr(svc, sp, vals, 1, &tmp));
        }
        sbits = code != 0 ? 1u << (unsigned)(code / 100) : sp->status_error ? SPAN_ERR : 0;
    }
    size_t n = list_hits(svc, &svc->plain_h, res_ok, sp, vals, kbit, dur, sbits, out, 0);
    for (size_t k = 0; k < svc->n_keys; k++) {
        const struct route_key *rk = &svc->keys[k];
        struct slo_attr tmp;
        const struct slo_attr *a = slot_attr(svc, sp, vals, rk->slot, &tmp);
        /* The attribute as text, as slo_attr_equals() compares it. */
        char num[24];
        const char *text;
        size_t len;
        switch (a->type) {
        case SLO_ATTR_STR:
            text = a->str;
            len = a->len;
            break;
        case SLO_ATTR_INT:
            len = i64_text(a->i, num);
            text = num;
            break;
        case SLO_ATTR_BOOL:
            text = a->i ? "true" : "false";
            len = a->i ? 4 : 5;
            break;
        default:
            continue; /* absent or not comparable: no matcher on this key holds */
        }
        size_t idx = SIZE_MAX;
        if (rk->n_lists <= ROUTE_LINEAR_MAX) {
            /* A few values (a method, a flag): compared in turn, cheaper than hashing. */
            for (size_t j = 0; j < rk->n_lists; j++) {
                if (rk->vals[j].vlen == len && slo_sli_bytes_eq(rk->vals[j].val, text, len)) {
                    idx = j;
                    break;
                }
            }
        } else {
            struct slot *s = table_find(&rk->values, text, len, hash_bytes(text, len, 0));
            idx = s != NULL ? s->idx : SIZE_MAX;
        }
        if (idx != SIZE_MAX) {
            n = list_hits(svc, &rk->hits[idx], res_ok, sp, vals, kbit, dur, sbits, out, n);
        }
    }
    return n;
}

/* Slots filled through the callbacks on the stack, up to this many keys; more are looked up
 * where they are read. */
#define STACK_SLOTS 32u

size_t slo_sli_span_hits(const struct slo_sli_index *ix, const struct slo_sli_service *svc,
                         const bool *res_ok, const struct slo_span *sp, struct slo_span_hit *out)
{
    (void)ix;
    if (sp->kind != SLO_SPAN_KIND_SERVER && sp->kind != SLO_SPAN_KIND_CONSUMER) {
        return 0; /* no SLO selects other kinds */
    }
    if (svc->ks.n > STACK_SLOTS) {
        return span_hits(svc, res_ok, sp, NULL, out);
    }
    struct slo_attr vals[STACK_SLOTS];
    for (size_t i = 0; i < svc->ks.n; i++) {
        span_attr(sp, svc->ks.keys[i].key, svc->ks.keys[i].len, &vals[i]);
    }
    return span_hits(svc, res_ok, sp, vals, out);
}

size_t slo_sli_span_hits_slots(const struct slo_sli_service *svc, const bool *res_ok,
                               const struct slo_span *sp, const struct slo_attr *vals,
                               struct slo_span_hit *out)
{
    if ((sp->kind != SLO_SPAN_KIND_SERVER && sp->kind != SLO_SPAN_KIND_CONSUMER) || vals == NULL) {
        return 0;
    }
    return span_hits(svc, res_ok, sp, vals, out);
}

/* ---- metrics --------------------------------------------------------------------------------- */

struct series {
    char *key; /* owned; the table points at it */
    size_t len;
    uint32_t slo;
    uint8_t role;
    uint64_t start_ns, time_ns;
    uint64_t v[2]; /* counters: v[0]; histograms: v[0] good, v[1] count */
    /* SERIES_EXPO: the last point's scale and its good counts at that scale and each coarser
     * one (slo_expo_ladder: ladder[j] at scale - j; ladder[0] == v[0]) */
    int scale;
    size_t n_ladder;
    uint64_t *ladder; /* owned */
};

struct pending {
    uint64_t part; /* good (or bad, for bad/total SLIs) not yet taken */
    uint64_t total;
    bool uses_bad;
    bool warned;      /* histograms: threshold-not-a-bound warning given */
    bool warned_expo; /* the same for exponential histograms */
};

struct slo_metric_state {
    const struct slo_defs *defs;
    uint64_t since_ns;
    size_t max_series;
    struct table table;
    struct series *series;
    size_t n_series, cap_series;
    struct pending *pend; /* one per SLO */
    struct slo_expo_thr *thr; /* per SLO: histogram thresholds for exponential buckets */
    int *thr_rc;              /* per SLO: slo_expo_thr_init()'s result (AG_EUNSUPP: undecided) */
    struct slo_metric_stats stats;
};

int slo_metric_state_new(const struct slo_defs *defs, uint64_t since_ns, size_t max_series,
                         struct slo_metric_state **out)
{
    *out = NULL;
    struct slo_metric_state *st = ag_calloc(1, sizeof(*st));
    if (st == NULL) {
        return AG_ENOMEM;
    }
    size_t n = defs->n_slos > 0 ? defs->n_slos : 1;
    st->pend = ag_calloc(n, sizeof(*st->pend));
    st->thr = ag_calloc(n, sizeof(*st->thr));
    st->thr_rc = ag_calloc(n, sizeof(*st->thr_rc));
    if (st->pend == NULL || st->thr == NULL || st->thr_rc == NULL) {
        ag_free(st->pend);
        ag_free(st->thr);
        ag_free(st->thr_rc);
        ag_free(st);
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < defs->n_slos; i++) {
        const struct slo_sli_def *sli = &defs->slis[defs->slos[i].sli];
        st->pend[i].uses_bad = sli->source == SLO_SRC_COUNTERS && sli->bad.name != NULL;
        if (sli->source == SLO_SRC_HISTOGRAM) {
            st->thr_rc[i] = slo_expo_thr_init(&sli->bucket_bound, &st->thr[i]);
        }
    }
    st->defs = defs;
    st->since_ns = since_ns;
    st->max_series = max_series > 0 ? max_series : DEFAULT_MAX_SERIES;
    *out = st;
    return 0;
}

static void free_series(struct series *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ag_free(s[i].key);
        ag_free(s[i].ladder);
    }
    ag_free(s);
}

void slo_metric_state_free(struct slo_metric_state *st)
{
    if (st == NULL) {
        return;
    }
    free_series(st->series, st->n_series);
    ag_free(st->table.slots);
    ag_free(st->pend);
    ag_free(st->thr);
    ag_free(st->thr_rc);
    ag_free(st);
}

bool slo_sli_point_matches(const struct slo_metric_sel *sel, const struct slo_point *p)
{
    for (size_t i = 0; i < sel->n_match; i++) {
        struct slo_attr a = {SLO_ATTR_NONE, NULL, 0, 0};
        if (p->attr != NULL) {
            p->attr(p->attr_ctx, sel->match[i].key, &a);
        }
        if (a.type == SLO_ATTR_NONE && p->res_attr != NULL) {
            p->res_attr(p->res_ctx, sel->match[i].key, &a);
        }
        if (!slo_attr_equals(&a, sel->match[i].value)) {
            return false;
        }
    }
    return true;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* The series' table key: the SLO and role, then the caller's identity bytes. */
static uint64_t series_hash(uint32_t slo, uint8_t role, const char *key, size_t len)
{
    return hash_bytes(key, len, ((uint64_t)slo << 8) | role);
}

static struct series *series_find(struct slo_metric_state *st, uint32_t slo, uint8_t role,
                                  const char *key, size_t len, uint64_t h)
{
    if (st->table.cap == 0) {
        return NULL;
    }
    for (size_t i = h & (st->table.cap - 1);; i = (i + 1) & (st->table.cap - 1)) {
        struct slot *s = &st->table.slots[i];
        if (s->key == NULL) {
            return NULL;
        }
        struct series *se = &st->series[s->idx];
        if (s->hash == h && se->slo == slo && se->role == role && se->len == len &&
            memcmp(se->key, key, len) == 0) {
            return se;
        }
    }
}

static int series_add(struct slo_metric_state *st, const struct series *proto, uint64_t h,
                      struct series **out)
{
    if (st->n_series == st->cap_series) {
        size_t cap = st->cap_series == 0 ? 16 : st->cap_series * 2;
        struct series *a = ag_realloc(st->series, cap * sizeof(*a));
        if (a == NULL) {
            return AG_ENOMEM;
        }
        /* The table's keys point into the series' own key copies, which did not move. */
        st->series = a;
        st->cap_series = cap;
    }
    struct series *s = &st->series[st->n_series];
    *s = *proto;
    s->key = ag_strndup(proto->key, proto->len);
    s->ladder = NULL;
    if (s->key == NULL) {
        return AG_ENOMEM;
    }
    if (proto->n_ladder > 0) {
        s->ladder = ag_malloc(proto->n_ladder * sizeof(*s->ladder));
        if (s->ladder == NULL) {
            ag_free(s->key);
            return AG_ENOMEM;
        }
        memcpy(s->ladder, proto->ladder, proto->n_ladder * sizeof(*s->ladder));
    }
    if (table_put(&st->table, s->key, s->len, h, st->n_series) != 0) {
        ag_free(s->key);
        ag_free(s->ladder);
        return AG_ENOMEM;
    }
    st->n_series++;
    *out = s;
    return 0;
}

/* The good count of a histogram point: buckets whose upper bound <= the threshold. Sets
 * |*is_bound| when the threshold equals one of the bounds. */
static uint64_t hist_good(const struct slo_point *p, const struct slo_decimal *thr, bool *is_bound)
{
    /* num / den is one correctly rounded division: the double nearest the decimal, which is
     * what an SDK stores for the same bound written in decimal (0.3 == 0.3). */
    double t = (double)thr->num / (double)thr->den;
    uint64_t good = 0;
    *is_bound = false;
    for (size_t i = 0; i < p->n_bounds; i++) {
        if (p->bounds[i] <= t) {
            good = sat_add(good, p->buckets[i]);
        }
        if (p->bounds[i] == t) {
            *is_bound = true;
        }
    }
    return good < p->count ? good : p->count;
}

/*
 * The increase of a cumulative series (§9). Same start time: the difference (a value that went
 * down is a reset too). Changed start time: a reset, even when the value grew: the new value
 * counts every event since the new start.
 */
static void cumulative_delta(struct slo_metric_state *st, struct series *s, const uint64_t v[2],
                             const struct slo_point *p, uint64_t d[2])
{
    bool reset = p->start_ns != s->start_ns || v[0] < s->v[0] || v[1] < s->v[1];
    if (reset) {
        st->stats.resets++;
        if (p->start_ns != s->start_ns && p->start_ns < s->time_ns) {
            /* The new series claims to start before the last point of the old one: a clock
             * step or an overlap. Its whole value is counted; the report counts the case. */
            st->stats.overlaps++;
        }
        d[0] = v[0];
        d[1] = v[1];
    } else {
        d[0] = v[0] - s->v[0];
        d[1] = v[1] - s->v[1];
    }
    s->start_ns = p->start_ns;
    s->time_ns = p->time_ns;
    s->v[0] = v[0];
    s->v[1] = v[1];
}

/* The good count of a ladder of |n| values at |j| scales below its own (constant past n - 1). */
static uint64_t ladder_at(const uint64_t *ladder, size_t n, int j)
{
    return ladder[(size_t)j < n ? (size_t)j : n - 1];
}

/* Adds the increase of pending SLO counts: |d|[0] good (or bad), |d|[1] total (histograms) or
 * |d|[0] in |ref|'s role (counters). */
static void pend_add(struct slo_metric_state *st, const struct slo_metric_ref *ref,
                     const uint64_t d[2])
{
    struct pending *pe = &st->pend[ref->slo];
    switch (ref->role) {
    case SLO_ROLE_GOOD:
    case SLO_ROLE_BAD:
        pe->part = sat_add(pe->part, d[0]);
        break;
    case SLO_ROLE_TOTAL:
        pe->total = sat_add(pe->total, d[0]);
        break;
    case SLO_ROLE_HISTOGRAM:
        pe->part = sat_add(pe->part, d[0]);
        pe->total = sat_add(pe->total, d[1]);
        break;
    }
}

/*
 * The increase of a cumulative exponential series |s| from point |p| (good counts |lad|, |n| of
 * them): both compared at the coarser of the two scales, where the old and the new point count
 * the same buckets. A changed start time, a count or a good count that went down is a reset (the
 * new point's own counts are the increase), as for explicit histograms. Returns 0 or AG_ENOMEM
 * (|s| unchanged).
 */
static int expo_delta(struct slo_metric_state *st, struct series *s, const uint64_t *lad,
                      size_t n, const struct slo_point *p, uint64_t d[2])
{
    int s1 = s->scale, s2 = p->ex.scale, m = s1 < s2 ? s1 : s2;
    uint64_t old_m = ladder_at(s->ladder, s->n_ladder, s1 - m);
    uint64_t new_m = ladder_at(lad, n, s2 - m);
    if (n != s->n_ladder) {
        uint64_t *l = ag_realloc(s->ladder, n * sizeof(*l));
        if (l == NULL) {
            return AG_ENOMEM;
        }
        s->ladder = l;
    }
    if (s1 != s2) {
        st->stats.rescaled++;
    }
    bool reset = p->start_ns != s->start_ns || p->ex.count < s->v[1] || new_m < old_m;
    if (reset) {
        st->stats.resets++;
        if (p->start_ns != s->start_ns && p->start_ns < s->time_ns) {
            st->stats.overlaps++;
        }
        d[0] = lad[0];
        d[1] = p->ex.count;
    } else {
        d[0] = new_m - old_m;
        d[1] = p->ex.count - s->v[1];
    }
    s->start_ns = p->start_ns;
    s->time_ns = p->time_ns;
    s->v[0] = lad[0];
    s->v[1] = p->ex.count;
    s->scale = s2;
    s->n_ladder = n;
    memcpy(s->ladder, lad, n * sizeof(*lad));
    return 0;
}

/* slo_metric_add() for an exponential histogram point. */
static int expo_add(struct slo_metric_state *st, const struct slo_metric_ref *ref,
                    const struct slo_point *p, bool *warn)
{
    if (st->thr_rc[ref->slo] != 0) {
        st->stats.undecided++;
        return AG_EUNSUPP;
    }
    const struct slo_expo_thr *thr = &st->thr[ref->slo];
    uint64_t lad[SLO_EXPO_LADDER];
    int n = slo_expo_ladder(thr, &p->ex, lad);
    if (n < 0) {
        st->stats.bad_points++;
        return AG_EINVAL;
    }
    if (!slo_expo_is_bound(thr, p->ex.scale) && !st->pend[ref->slo].warned_expo) {
        st->pend[ref->slo].warned_expo = true;
        if (warn != NULL) {
            *warn = true;
        }
    }
    uint64_t d[2] = {lad[0], p->ex.count};
    if (p->cumulative) {
        uint64_t h = series_hash((uint32_t)ref->slo, SERIES_EXPO, p->key, p->key_len);
        struct series *s =
            series_find(st, (uint32_t)ref->slo, SERIES_EXPO, p->key, p->key_len, h);
        if (s == NULL) {
            if (st->n_series >= st->max_series) {
                st->stats.dropped_series++;
                return 0;
            }
            struct series proto = {(char *)p->key,   p->key_len,     (uint32_t)ref->slo,
                                   SERIES_EXPO,      p->start_ns,    p->time_ns,
                                   {lad[0], p->ex.count},            p->ex.scale,
                                   (size_t)n,        lad};
            int rc = series_add(st, &proto, h, &s);
            if (rc != 0) {
                return rc;
            }
            if (!(p->start_ns > st->since_ns)) {
                st->stats.baselines++;
                return 0;
            }
        } else {
            int rc = expo_delta(st, s, lad, (size_t)n, p, d);
            if (rc != 0) {
                return rc;
            }
        }
    }
    pend_add(st, ref, d);
    return 0;
}

int slo_metric_add(struct slo_metric_state *st, const struct slo_metric_ref *ref,
                   const struct slo_point *p, bool *warn)
{
    if (warn != NULL) {
        *warn = false;
    }
    if (ref->role == SLO_ROLE_HISTOGRAM && p->expo) {
        return expo_add(st, ref, p, warn);
    }
    uint64_t v[2] = {p->value, 0};
    if (ref->role == SLO_ROLE_HISTOGRAM) {
        if (p->n_buckets != p->n_bounds + 1) {
            st->stats.bad_points++;
            return AG_EINVAL;
        }
        const struct slo_sli_def *sli = &st->defs->slis[st->defs->slos[ref->slo].sli];
        bool is_bound;
        v[0] = hist_good(p, &sli->bucket_bound, &is_bound);
        v[1] = p->count;
        if (!is_bound && !st->pend[ref->slo].warned) {
            st->pend[ref->slo].warned = true;
            if (warn != NULL) {
                *warn = true;
            }
        }
    }
    uint64_t d[2] = {v[0], v[1]};
    if (p->cumulative) {
        uint64_t h = series_hash((uint32_t)ref->slo, (uint8_t)ref->role, p->key, p->key_len);
        struct series *s =
            series_find(st, (uint32_t)ref->slo, (uint8_t)ref->role, p->key, p->key_len, h);
        if (s == NULL) {
            if (st->n_series >= st->max_series) {
                st->stats.dropped_series++;
                return 0;
            }
            struct series proto = {(char *)p->key,     p->key_len,  (uint32_t)ref->slo,
                                   (uint8_t)ref->role, p->start_ns, p->time_ns,
                                   {v[0], v[1]},       0,           0,
                                   NULL};
            int rc = series_add(st, &proto, h, &s);
            if (rc != 0) {
                return rc;
            }
            /* First point: every event counted when the series began after Otter started
             * watching; otherwise only a baseline for the next point. */
            if (!(p->start_ns > st->since_ns)) {
                st->stats.baselines++;
                return 0;
            }
        } else {
            cumulative_delta(st, s, v, p, d);
        }
    }
    pend_add(st, ref, d);
    return 0;
}

bool slo_metric_take(struct slo_metric_state *st, size_t slo, bool final, uint64_t *good,
                     uint64_t *total)
{
    struct pending *pe = &st->pend[slo];
    uint64_t part = pe->part < pe->total ? pe->part : pe->total;
    uint64_t excess = pe->part - part;
    *total = pe->total;
    *good = pe->uses_bad ? pe->total - part : part;
    pe->total = 0;
    pe->part = excess;
    if (final && excess > 0) {
        st->stats.violations = sat_add(st->stats.violations, excess);
        pe->part = 0;
    }
    return *total > 0;
}

void slo_metric_stats(const struct slo_metric_state *st, struct slo_metric_stats *out)
{
    *out = st->stats;
    out->series = st->n_series;
}

/* ---- checkpoint bytes ------------------------------------------------------------------------ */

static int put_u64(struct ag_buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++) {
        x[i] = (uint8_t)(v >> (8 * i));
    }
    return ag_buf_add(b, x, 8);
}

int slo_metric_save(const struct slo_metric_state *st, struct ag_buf *out)
{
    int rc = ag_buf_add(out, SAVE_MAGIC, 4);
    rc = rc ? rc : put_u64(out, SAVE_VERSION);
    rc = rc ? rc : put_u64(out, st->defs->n_slos);
    for (size_t i = 0; rc == 0 && i < st->defs->n_slos; i++) {
        rc = put_u64(out, st->pend[i].part);
        rc = rc ? rc : put_u64(out, st->pend[i].total);
    }
    rc = rc ? rc : put_u64(out, st->n_series);
    for (size_t i = 0; rc == 0 && i < st->n_series; i++) {
        const struct series *s = &st->series[i];
        rc = put_u64(out, ((uint64_t)s->slo << 8) | s->role);
        rc = rc ? rc : put_u64(out, s->len);
        rc = rc ? rc : ag_buf_add(out, s->key, s->len);
        rc = rc ? rc : put_u64(out, s->start_ns);
        rc = rc ? rc : put_u64(out, s->time_ns);
        rc = rc ? rc : put_u64(out, s->v[0]);
        rc = rc ? rc : put_u64(out, s->v[1]);
        if (s->role == SERIES_EXPO) {
            rc = rc ? rc : put_u64(out, (uint64_t)(s->scale - SLO_EXPO_MIN_SCALE));
            rc = rc ? rc : put_u64(out, s->n_ladder);
            for (size_t j = 0; rc == 0 && j < s->n_ladder; j++) {
                rc = put_u64(out, s->ladder[j]);
            }
        }
    }
    return rc == 0 ? 0 : AG_ENOMEM;
}

struct reader {
    const uint8_t *p;
    size_t left;
    bool bad;
};

static uint64_t get_u64(struct reader *r)
{
    if (r->left < 8) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v |= (uint64_t)r->p[i] << (8 * i);
    }
    r->p += 8;
    r->left -= 8;
    return v;
}

int slo_metric_restore(struct slo_metric_state *st, const void *data, size_t len)
{
    struct reader r = {data, len, false};
    if (len < 4 || memcmp(data, SAVE_MAGIC, 4) != 0) {
        return AG_EPROTO;
    }
    r.p += 4;
    r.left -= 4;
    uint64_t version = get_u64(&r);
    if ((version != 1 && version != SAVE_VERSION) || get_u64(&r) != st->defs->n_slos || r.bad) {
        return AG_EPROTO;
    }
    uint64_t max_role = version == 1 ? 3 : SERIES_EXPO;
    struct slo_metric_state tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.defs = st->defs;
    tmp.max_series = st->max_series;
    tmp.pend = ag_calloc(st->defs->n_slos > 0 ? st->defs->n_slos : 1, sizeof(*tmp.pend));
    if (tmp.pend == NULL) {
        return AG_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < st->defs->n_slos; i++) {
        tmp.pend[i] = st->pend[i];
        tmp.pend[i].part = get_u64(&r);
        tmp.pend[i].total = get_u64(&r);
    }
    uint64_t n = get_u64(&r);
    if (r.bad || n > tmp.max_series) {
        rc = AG_EPROTO;
    }
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        uint64_t id = get_u64(&r);
        uint64_t klen = get_u64(&r);
        if (r.bad || klen > r.left || (id >> 8) >= st->defs->n_slos || (id & 0xff) > max_role) {
            rc = AG_EPROTO;
            break;
        }
        struct series proto = {(char *)r.p, (size_t)klen, (uint32_t)(id >> 8),
                               (uint8_t)(id & 0xff), 0, 0, {0, 0}, 0, 0, NULL};
        r.p += klen;
        r.left -= (size_t)klen;
        proto.start_ns = get_u64(&r);
        proto.time_ns = get_u64(&r);
        proto.v[0] = get_u64(&r);
        proto.v[1] = get_u64(&r);
        uint64_t lad[SLO_EXPO_LADDER];
        if (!r.bad && proto.role == SERIES_EXPO) {
            /* The scale, then the ladder as slo_expo_ladder() makes it: ladder[0] the good
             * count, none above the count, never rising towards coarser scales, no repeated
             * last value (one encoding). */
            uint64_t sc = get_u64(&r), nl = get_u64(&r);
            bool ok = !r.bad && sc < SLO_EXPO_LADDER && nl >= 1 && nl <= sc + 1;
            for (uint64_t j = 0; ok && j < nl; j++) {
                lad[j] = get_u64(&r);
                ok = !r.bad && lad[j] <= proto.v[1] && (j == 0 || lad[j] <= lad[j - 1]);
            }
            if (!ok || lad[0] != proto.v[0] || (nl > 1 && lad[nl - 2] == lad[nl - 1])) {
                rc = AG_EPROTO;
                break;
            }
            proto.scale = (int)sc + SLO_EXPO_MIN_SCALE;
            proto.n_ladder = (size_t)nl;
            proto.ladder = lad;
        }
        if (r.bad) {
            rc = AG_EPROTO;
            break;
        }
        uint64_t h = series_hash(proto.slo, proto.role, proto.key, proto.len);
        if (series_find(&tmp, proto.slo, proto.role, proto.key, proto.len, h) != NULL) {
            rc = AG_EPROTO; /* a duplicate series */
            break;
        }
        struct series *s;
        rc = series_add(&tmp, &proto, h, &s);
    }
    if (rc == 0 && r.left != 0) {
        rc = AG_EPROTO;
    }
    if (rc != 0) {
        free_series(tmp.series, tmp.n_series);
        ag_free(tmp.table.slots);
        ag_free(tmp.pend);
        return rc;
    }
    free_series(st->series, st->n_series);
    ag_free(st->table.slots);
    ag_free(st->pend);
    st->series = tmp.series;
    st->n_series = tmp.n_series;
    st->cap_series = tmp.cap_series;
    st->table = tmp.table;
    st->pend = tmp.pend;
    return 0;
}
