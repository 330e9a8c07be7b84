#ifndef SLO_SLI_H
#define SLO_SLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "slo_def.h"
#include "slo_expo.h"

/*
 * SLI extraction (specs/slo.md §2, §9): which telemetry an SLO counts and whether it is good.
 * Pure: no I/O, no clock, no protobuf. The caller (otterd's slo exporter) describes each span or
 * metric data point through the small views below and an attribute lookup callback.
 *
 * - Spans: eligible when the resource's service.name equals the SLI's service, the resource and
 *   span attribute matchers all hold and the kind is SERVER (or CONSUMER, when the SLI allows
 *   it). Availability: when the span has an HTTP status code (http.response.status_code, else
 *   http.status_code; an integer or its decimal text) its class decides (bad when the class is in
 *   bad_http_classes, so 4xx is good by default); without one, status ERROR is bad when
 *   status_error_bad. Latency: good when end - start <= threshold (inclusive).
 * - Counters: good/total or bad/total selectors (metric name + attribute equality over the data
 *   point's attributes, then the resource's). Cumulative points become deltas per series (§9);
 *   delta points are summed. The good (or bad) and total increases of an SLO are taken together,
 *   so good <= total always holds (an excess is carried, then dropped and counted).
 * - Histograms: good = the count of the buckets whose upper bound <= the threshold; total = the
 *   point's count; cumulative points become deltas per series like counters. Exponential
 *   histograms follow the same rule, decided exactly (slo_expo.h); a cumulative series whose
 *   scale changes is compared at the coarser of the two scales.
 */

/* ---- attribute lookup ------------------------------------------------------------------------ */

enum slo_attr_type {
    SLO_ATTR_NONE, /* absent */
    SLO_ATTR_STR,
    SLO_ATTR_INT,
    SLO_ATTR_BOOL,
    SLO_ATTR_OTHER, /* double, array, map, bytes: never equal to a matcher's text */
};

struct slo_attr {
    enum slo_attr_type type;
    const char *str; /* SLO_ATTR_STR: not NUL-terminated */
    size_t len;
    int64_t i; /* SLO_ATTR_INT; SLO_ATTR_BOOL: 0 or 1 */
};

/* Looks |key| up in the caller's attributes (|ctx|); fills |*out| (type NONE when absent). */
typedef void slo_attr_fn(const void *ctx, const char *key, struct slo_attr *out);

/* Like slo_attr_fn with the key's length known (|key| is also NUL-terminated): the index stores
 * every matcher key's length once, so the span path need not measure it per lookup. */
typedef void slo_attr_len_fn(const void *ctx, const char *key, size_t key_len,
                             struct slo_attr *out);

/* True when the attribute in |a| equals |text|: a string byte for byte, an integer in decimal,
 * a boolean as "true" / "false". */
bool slo_attr_equals(const struct slo_attr *a, const char *text);

/* slo_attr_equals() with |text|'s length given (|len| bytes; no NUL needed). */
bool slo_attr_equals_n(const struct slo_attr *a, const char *text, size_t len);

/* ---- the index ------------------------------------------------------------------------------- */

/* Which SLOs a service's spans or a metric name's points may feed; built once per definitions. */
struct slo_sli_index;

/* A metric selector's role in its SLO. */
enum slo_metric_role {
    SLO_ROLE_GOOD,
    SLO_ROLE_BAD,
    SLO_ROLE_TOTAL,
    SLO_ROLE_HISTOGRAM,
};

/* One SLO a metric name may feed, in one role. */
struct slo_metric_ref {
    size_t slo; /* index into defs->slos */
    enum slo_metric_role role;
    const struct slo_metric_sel *sel;
};

/*
 * Indexes every SLO of |defs| (borrowed; finished; must outlive the index) by the service of its
 * spans SLI and by the metric names of its counters or histogram SLI.
 * Returns 0 and a new index in |*out| (free with slo_sli_index_free()), or AG_ENOMEM, or
 * AG_ETOOBIG (more than UINT32_MAX SLOs).
 */
AG_NODISCARD int slo_sli_index_new(const struct slo_defs *defs, struct slo_sli_index **out);

/* Frees |ix|; NULL is a no-op. */
void slo_sli_index_free(struct slo_sli_index *ix);

/* The SLOs (indexes into defs->slos) whose spans SLI selects service |name| (|len| bytes): sets
 * |*slos| and returns the count (0 and NULL when none). O(1) expected. */
size_t slo_sli_spans_for(const struct slo_sli_index *ix, const char *name, size_t len,
                         const size_t **slos);

/*
 * A service's spans SLOs, indexed a second time by route: an SLO with span attribute matchers is
 * filed under the key of its first matcher and that matcher's value (the key's "route"); one
 * without is in the service's plain list. A span then meets only the plain SLOs and, per key,
 * those of its own value (slo_sli_span_hits), so its cost follows the SLOs it can feed, not the
 * service's number of routes.
 */
struct slo_sli_service;

/* Service |name| (|len| bytes), or NULL when no spans SLI selects it. O(1) expected. */
const struct slo_sli_service *slo_sli_service_find(const struct slo_sli_index *ix,
                                                   const char *name, size_t len);

/* All of |svc|'s SLOs, in definition order (what slo_sli_spans_for() returns): the caller tests
 * their resource matchers once per resource. Returns the count. */
size_t slo_sli_service_slos(const struct slo_sli_service *svc, const size_t **slos);

/* The largest number of SLOs of one service (a bound for slo_sli_span_hits()' output). */
size_t slo_sli_max_service_slos(const struct slo_sli_index *ix);

struct slo_span_hit {
    size_t slo; /* index into defs->slos */
    bool good;
};

/* The selectors that name metric |name| (|len| bytes). O(1) expected. */
size_t slo_sli_metrics_for(const struct slo_sli_index *ix, const char *name, size_t len,
                           const struct slo_metric_ref **refs);

/* True when some SLO reads spans / metrics (an exporter may skip a signal otherwise). */
bool slo_sli_wants_spans(const struct slo_sli_index *ix);
bool slo_sli_wants_metrics(const struct slo_sli_index *ix);

/* ---- spans ----------------------------------------------------------------------------------- */

#define SLO_SPAN_KIND_SERVER   2 /* OTLP Span.SpanKind values */
#define SLO_SPAN_KIND_CONSUMER 5

struct slo_span {
    int kind;          /* OTLP SpanKind */
    bool status_error; /* Status.code == STATUS_CODE_ERROR */
    uint64_t start_ns, end_ns;
    slo_attr_fn *attr; /* the span's attributes */
    const void *attr_ctx;
    slo_attr_len_fn *attr_len; /* the same lookup with the key's length, or NULL (then attr) */
};

/* True when every resource matcher of |sli| holds for the resource (|res|, |res_ctx|). Call once
 * per resource and SLO; the service was already matched through the index. */
bool slo_sli_resource_matches(const struct slo_sli_def *sli, slo_attr_fn *res, const void *res_ctx);

/* Classifies span |sp| for spans SLI |sli| (whose service and resource matchers already held).
 * Returns false when the span is not eligible; otherwise true with |*good| set. */
bool slo_sli_span(const struct slo_sli_def *sli, const struct slo_span *sp, bool *good);

/*
 * Classifies span |sp| of service |svc| (from slo_sli_service_find() on |ix|) for every SLO of
 * the service that can select it: those without span attribute matchers and, for each first-
 * matcher key, those whose value equals the span's attribute as text (slo_attr_equals()), then
 * their other matchers, kind and check exactly as slo_sli_span(). Only SLOs with |res_ok|[slo]
 * true count (an array indexed by SLO: the caller sets it for the service's SLOs once per
 * resource with slo_sli_resource_matches()). Writes the eligible SLOs and their verdicts to
 * |out| (room for slo_sli_max_service_slos() entries) in no particular order and returns their
 * number: for every SLO the same result as slo_sli_span(), without measuring matcher keys or
 * values (their lengths were stored by slo_sli_index_new()).
 */
size_t slo_sli_span_hits(const struct slo_sli_index *ix, const struct slo_sli_service *svc,
                         const bool *res_ok, const struct slo_span *sp, struct slo_span_hit *out);

/* True when the |n| bytes at |a| and |b| are equal (memcmp() == 0), compared a word at a time
 * inline: the span path compares short keys and values, where a call costs more than the bytes. */
static inline bool slo_sli_bytes_eq(const char *a, const char *b, size_t n)
{
    uint64_t x, y;
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y) {
                return false;
            }
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t p, q, r, t;
        memcpy(&p, a, 4);
        memcpy(&q, b, 4);
        memcpy(&r, a + n - 4, 4);
        memcpy(&t, b + n - 4, 4);
        return p == q && r == t;
    }
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    return true;
}

/*
 * The span attribute keys a service's SLOs read: the HTTP status code keys first when one of
 * them is an availability SLO (slot 0 "http.response.status_code", slot 1 "http.status_code"),
 * then the route keys, then the keys of the SLOs' other matchers, each once. A caller that walks
 * a span's attributes itself finds each attribute's slot with slo_sli_keyset_slot() and hands the
 * values to slo_sli_span_hits_slots(): one pass over the span instead of one lookup per key.
 */
struct slo_sli_key {
    const char *key; /* NUL-terminated; owned by the definitions */
    size_t len;
    size_t next; /* 1 + the next key of the same by_len entry, or 0 */
};

#define SLO_SLI_KEY_LENS 64u /* by_len entries; longer keys share the last one */

struct slo_sli_keyset {
    uint8_t first[256];                   /* [c] != 0: some key begins with byte c */
    uint32_t by_len[SLO_SLI_KEY_LENS];    /* 1 + the first key of that length (the last entry:
                                           * that length or more), or 0 */
    const struct slo_sli_key *keys;
    size_t n;
};

/* |svc|'s keyset (owned by the index). */
const struct slo_sli_keyset *slo_sli_service_keyset(const struct slo_sli_service *svc);

/* The largest keyset of one service (a bound for the caller's slot array). */
size_t slo_sli_max_service_keys(const struct slo_sli_index *ix);

/* The slot of span attribute key |key| (NUL-terminated) in |ks|, or -1 when no SLO of the service
 * reads it. Inline: it is asked for every attribute of every span, and most keys are refused on
 * their first byte or their length. */
static inline long slo_sli_keyset_slot(const struct slo_sli_keyset *ks, const char *key)
{
    if (ks->first[(unsigned char)key[0]] == 0) {
        return -1;
    }
    size_t len = strlen(key);
    for (size_t i = ks->by_len[len < SLO_SLI_KEY_LENS ? len : SLO_SLI_KEY_LENS - 1]; i != 0;
         i = ks->keys[i - 1].next) {
        const struct slo_sli_key *k = &ks->keys[i - 1];
        if (k->len == len && slo_sli_bytes_eq(k->key, key, len)) {
            return (long)(i - 1);
        }
    }
    return -1;
}

/*
 * slo_sli_span_hits() with the span's attributes given by slot: |vals| holds one value per key
 * of |svc|'s keyset (not NULL; type SLO_ATTR_NONE for a key the span lacks; for a key the span has
 * twice, its first occurrence); |sp|'s attribute callbacks are not used. Same verdicts as
 * slo_sli_span_hits() over the same attributes.
 */
size_t slo_sli_span_hits_slots(const struct slo_sli_service *svc, const bool *res_ok,
                               const struct slo_span *sp, const struct slo_attr *vals,
                               struct slo_span_hit *out);

/* ---- metrics --------------------------------------------------------------------------------- */

/* One metric data point (a Sum's, a Histogram's or an ExponentialHistogram's), as the caller
 * read it. */
struct slo_point {
    const char *key; /* the series' identity: metric name, resource and point attributes,
                      * as canonical bytes the caller builds (borrowed) */
    size_t key_len;
    bool cumulative;      /* else delta */
    uint64_t start_ns;    /* start_time_unix_nano */
    uint64_t time_ns;     /* time_unix_nano */
    uint64_t value;       /* counters: the point's value (a whole count) */
    const double *bounds; /* histograms: explicit_bounds */
    size_t n_bounds;
    const uint64_t *buckets; /* histograms: bucket_counts (n_bounds + 1 of them) */
    size_t n_buckets;
    uint64_t count;    /* histograms: count */
    bool expo;         /* an exponential histogram: |ex| (with its own count), not bounds */
    struct slo_expo_point ex;
    slo_attr_fn *attr; /* the point's attributes */
    const void *attr_ctx;
    slo_attr_fn *res_attr; /* the resource's attributes (matchers fall back to them) */
    const void *res_ctx;
};

struct slo_metric_state;

/* Counts of what the metric state saw (for logs and the report's warnings). */
struct slo_metric_stats {
    uint64_t series;         /* series tracked now */
    uint64_t baselines;      /* first points taken as a baseline (not counted) */
    uint64_t resets;         /* resets detected (changed start time, or a value that went down) */
    uint64_t overlaps;       /* resets whose new start time was before the last point seen */
    uint64_t dropped_series; /* new series refused: the table was full */
    uint64_t violations;     /* good (or bad) events above total, dropped */
    uint64_t bad_points;     /* malformed histogram points, skipped */
    uint64_t undecided;      /* exponential points skipped: the SLO's threshold is too close to
                              * a bucket bound to decide (slo_expo_thr_init) */
    uint64_t rescaled;       /* cumulative exponential points whose scale differed from the
                              * series' last one (compared at the coarser scale) */
};

/*
 * Creates the per-series state for the counters and histogram SLIs of |defs| (borrowed). A first
 * cumulative point is counted in full when its start time is after |since_ns| (the agent's start:
 * every event happened while Otter was watching), else taken as the baseline. At most
 * |max_series| series are tracked (0: 100000).
 * Returns 0 and a new state in |*out| (free with slo_metric_state_free()), or AG_ENOMEM.
 */
AG_NODISCARD int slo_metric_state_new(const struct slo_defs *defs, uint64_t since_ns,
                                      size_t max_series, struct slo_metric_state **out);

void slo_metric_state_free(struct slo_metric_state *st);

/* True when point |p| satisfies selector |sel| (its matchers over the point's attributes, or the
 * resource's when the point lacks the key). The metric name was matched through the index. */
bool slo_sli_point_matches(const struct slo_metric_sel *sel, const struct slo_point *p);

/*
 * Adds the increase of point |p| to SLO |ref|->slo in |ref|->role (cumulative: the delta of its
 * series, §9; delta: the value). Histograms also warn once per SLO when the threshold is not one
 * of the point's bounds: |*warn| (may be NULL) is set to true that one time (explicit and
 * exponential histograms warn once each; for an exponential point the bounds are those of its
 * scale: only a power of two can be one).
 *
 * Exponential points (|p|->expo): good = the good count at the point's scale (slo_expo_ladder).
 * A cumulative series keeps its last point's good counts at its scale and every coarser one;
 * when the next point has another scale (an SDK downscales as its range grows), both are
 * compared at the coarser of the two scales, where they count the same buckets: the increase
 * is exact at that scale's resolution. A series is keyed apart from an explicit histogram's.
 * Returns 0, or AG_EINVAL (malformed histogram point, counted), AG_EUNSUPP (an exponential point
 * of an SLO whose threshold could not be decided, counted), AG_ENOMEM.
 */
AG_NODISCARD int slo_metric_add(struct slo_metric_state *st, const struct slo_metric_ref *ref,
                                const struct slo_point *p, bool *warn);

/*
 * Takes SLO |slo|'s pending increases as (good, total) with good <= total. A good (or bad) excess
 * over total is kept for the next take (the total may come in a later request); with |final| it
 * is dropped and counted as a violation instead. Returns true when there is something to add.
 */
bool slo_metric_take(struct slo_metric_state *st, size_t slo, bool final, uint64_t *good,
                     uint64_t *total);

void slo_metric_stats(const struct slo_metric_state *st, struct slo_metric_stats *out);

/* Appends the series state to |out| (the checkpoint's extra bytes). Returns 0 or AG_ENOMEM. */
AG_NODISCARD int slo_metric_save(const struct slo_metric_state *st, struct ag_buf *out);

/*
 * Restores what slo_metric_save() wrote (over the same definitions) into |st|, replacing its
 * series. Returns 0, or AG_EPROTO (malformed: |st| is then unchanged) or AG_ENOMEM.
 */
AG_NODISCARD int slo_metric_restore(struct slo_metric_state *st, const void *data, size_t len);

#endif /* SLO_SLI_H */
