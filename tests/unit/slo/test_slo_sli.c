/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for slo_sli: which spans count and whether they are good, the service / metric-name
 * index, and the counter and histogram rules of specs/slo.md §9 (deltas per series, resets from
 * the start time even when the value grew, the first point's baseline, delta temporality, good
 * <= total, histogram buckets at or below the threshold) and the checkpoint bytes. Every expected
 * count is worked out by hand in the comment next to it.
 */
#include "ag_test.h"
#include "ag_buf.h"
#include "ag_mem.h"
#include "slo_sli.h"
#include "config.h"

#include <string.h>

static const char defs_yaml[] =
    "apiVersion: otter/v1\n"
    "kind: SLO\n"
    "metadata: {name: avail}\n" /* slo 0 */
    "spec:\n"
    "  service: api\n"
    "  objective: \"99\"\n"
    "  window: 1h\n"
    "  sli:\n"
    "    spans:\n"
    "      resource: {deployment.environment: prod}\n"
    "      attributes: {http.route: /pay}\n"
    "      availability: {}\n"
    "---\n"
    "apiVersion: otter/v1\n"
    "kind: SLO\n"
    "metadata: {name: latency}\n" /* slo 1 */
    "spec:\n"
    "  service: api\n"
    "  objective: \"99\"\n"
    "  window: 1h\n"
    "  sli:\n"
    "    spans:\n"
    "      kinds: [server]\n"
    "      latency: {threshold: 300ms}\n"
    "---\n"
    "apiVersion: otter/v1\n"
    "kind: SLO\n"
    "metadata: {name: good-total}\n" /* slo 2 */
    "spec:\n"
    "  objective: \"99\"\n"
    "  window: 1h\n"
    "  sli:\n"
    "    counters:\n"
    "      good: {name: req, match: {class: 2xx}}\n"
    "      total: {name: req}\n"
    "---\n"
    "apiVersion: otter/v1\n"
    "kind: SLO\n"
    "metadata: {name: bad-total}\n" /* slo 3 */
    "spec:\n"
    "  objective: \"99\"\n"
    "  window: 1h\n"
    "  sli:\n"
    "    counters:\n"
    "      bad: {name: errors}\n"
    "      total: {name: calls}\n"
    "---\n"
    "apiVersion: otter/v1\n"
    "kind: SLO\n"
    "metadata: {name: hist}\n" /* slo 4 */
    "spec:\n"
    "  objective: \"99\"\n"
    "  window: 1h\n"
    "  sli:\n"
    "    histogram: {name: dur, threshold: \"0.3\"}\n"
    "---\n"
    "apiVersion: otter/v1\n"
    "kind: SLO\n"
    "metadata: {name: hist-off}\n" /* slo 5 */
    "spec:\n"
    "  objective: \"99\"\n"
    "  window: 1h\n"
    "  sli:\n"
    "    histogram: {name: dur2, threshold: \"0.25\"}\n"
    "---\n"
    "apiVersion: otter/v1\n"
    "kind: SLO\n"
    "metadata: {name: other-svc}\n" /* slo 6 */
    "spec:\n"
    "  service: billing\n"
    "  objective: \"99\"\n"
    "  window: 1h\n"
    "  sli:\n"
    "    spans:\n"
    "      availability: {badHttpClasses: [4xx, 5xx], statusError: false}\n";

static struct ag_buf diag;
static struct slo_defs *defs;

/* ---- a tiny attribute store ---- */

struct kv {
    const char *key;
    struct slo_attr a;
};

struct attrs {
    const struct kv *kv;
    size_t n;
};

static void lookup(const void *ctx, const char *key, struct slo_attr *out)
{
    const struct attrs *as = ctx;
    out->type = SLO_ATTR_NONE;
    for (size_t i = 0; as != NULL && i < as->n; i++) {
        if (strcmp(as->kv[i].key, key) == 0) {
            *out = as->kv[i].a;
        }
    }
}

#define S(k, v)                                 \
    {                                           \
        (k),                                    \
        {                                       \
            SLO_ATTR_STR, (v), sizeof(v) - 1, 0 \
        }                                       \
    }
#define I(k, v)                        \
    {                                  \
        (k),                           \
        {                              \
            SLO_ATTR_INT, NULL, 0, (v) \
        }                              \
    }

static void test_load(void)
{
    ag_buf_init(&diag, 65536);
    ASSERT_OK(slo_defs_new(&diag, &defs));
    ASSERT_OK(slo_defs_add(defs, "d.yaml", defs_yaml, strlen(defs_yaml)));
    ASSERT_OK(slo_defs_finish(defs));
    ASSERT_UEQ(defs->n_slos, 7);
}

static void test_attr_equals(void)
{
    struct slo_attr s = {SLO_ATTR_STR, "abc", 3, 0};
    struct slo_attr i = {SLO_ATTR_INT, NULL, 0, -42};
    struct slo_attr b = {SLO_ATTR_BOOL, NULL, 0, 1};
    struct slo_attr o = {SLO_ATTR_OTHER, NULL, 0, 0};
    struct slo_attr n = {SLO_ATTR_NONE, NULL, 0, 0};
    ASSERT(slo_attr_equals(&s, "abc"));
    ASSERT(!slo_attr_equals(&s, "ab"));
    ASSERT(!slo_attr_equals(&s, "abcd"));
    ASSERT(slo_attr_equals(&i, "-42"));
    ASSERT(!slo_attr_equals(&i, "42"));
    ASSERT(slo_attr_equals(&b, "true"));
    ASSERT(!slo_attr_equals(&b, "false"));
    ASSERT(!slo_attr_equals(&o, ""));
    ASSERT(!slo_attr_equals(&n, ""));
}

static void test_index(void)
{
    struct slo_sli_index *ix = NULL;
    ASSERT_OK(slo_sli_index_new(defs, &ix));
    const size_t *slos;
    ASSERT_UEQ(slo_sli_spans_for(ix, "api", 3, &slos), 2);
    ASSERT_UEQ(slos[0], 0);
    ASSERT_UEQ(slos[1], 1);
    ASSERT_UEQ(slo_sli_spans_for(ix, "billing", 7, &slos), 1);
    ASSERT_UEQ(slos[0], 6);
    ASSERT_UEQ(slo_sli_spans_for(ix, "apix", 4, &slos), 0);
    ASSERT_NULL(slos);
    ASSERT_UEQ(slo_sli_spans_for(ix, "ap", 2, &slos), 0);
    const struct slo_metric_ref *refs;
    ASSERT_UEQ(slo_sli_metrics_for(ix, "req", 3, &refs), 2); /* good and total of slo 2 */
    ASSERT_UEQ(refs[0].slo, 2);
    ASSERT_EQ(refs[0].role, SLO_ROLE_GOOD);
    ASSERT_EQ(refs[1].role, SLO_ROLE_TOTAL);
    ASSERT_UEQ(slo_sli_metrics_for(ix, "errors", 6, &refs), 1);
    ASSERT_EQ(refs[0].role, SLO_ROLE_BAD);
    ASSERT_UEQ(slo_sli_metrics_for(ix, "dur", 3, &refs), 1);
    ASSERT_EQ(refs[0].role, SLO_ROLE_HISTOGRAM);
    ASSERT_UEQ(slo_sli_metrics_for(ix, "nope", 4, &refs), 0);
    ASSERT(slo_sli_wants_spans(ix));
    ASSERT(slo_sli_wants_metrics(ix));
    slo_sli_index_free(ix);
    slo_sli_index_free(NULL);
}

static bool classify(size_t slo, int kind, bool err, uint64_t dur_ns, const struct attrs *a,
                     bool *good)
{
    struct slo_span sp = {kind, err, 1000, 1000 + dur_ns, lookup, a, NULL};
    return slo_sli_span(&defs->slis[defs->slos[slo].sli], &sp, good);
}

static void test_resource(void)
{
    const struct slo_sli_def *sli = &defs->slis[defs->slos[0].sli];
    struct kv prod[] = {S("service.name", "api"), S("deployment.environment", "prod")};
    struct kv dev[] = {S("deployment.environment", "dev")};
    struct attrs ap = {prod, 2}, ad = {dev, 1}, none = {NULL, 0};
    ASSERT(slo_sli_resource_matches(sli, lookup, &ap));
    ASSERT(!slo_sli_resource_matches(sli, lookup, &ad));
    ASSERT(!slo_sli_resource_matches(sli, lookup, &none));
    /* no resource matchers: any resource */
    ASSERT(slo_sli_resource_matches(&defs->slis[defs->slos[1].sli], lookup, &none));
}

static void test_availability(void)
{
    bool good = false;
    struct kv pay[] = {S("http.route", "/pay")};
    struct kv pay503[] = {S("http.route", "/pay"), I("http.response.status_code", 503)};
    struct kv pay502s[] = {S("http.route", "/pay"), S("http.status_code", "502")};
    struct kv pay404[] = {S("http.route", "/pay"), I("http.response.status_code", 404)};
    struct kv pay200[] = {S("http.route", "/pay"), I("http.response.status_code", 200)};
    struct kv other[] = {S("http.route", "/other")};
    struct attrs a_pay = {pay, 1}, a503 = {pay503, 2}, a502 = {pay502s, 2}, a404 = {pay404, 2},
                 a200 = {pay200, 2}, a_other = {other, 1};
    /* server, status unset, no status code: good */
    ASSERT(classify(0, SLO_SPAN_KIND_SERVER, false, 5, &a_pay, &good));
    ASSERT(good);
    /* status ERROR and no status code: bad */
    ASSERT(classify(0, SLO_SPAN_KIND_SERVER, true, 5, &a_pay, &good));
    ASSERT(!good);
    /* 503 (class 5 is bad by default), status unset: bad */
    ASSERT(classify(0, SLO_SPAN_KIND_SERVER, false, 5, &a503, &good));
    ASSERT(!good);
    /* the old attribute name, as text: bad */
    ASSERT(classify(0, SLO_SPAN_KIND_SERVER, false, 5, &a502, &good));
    ASSERT(!good);
    /* a status code decides over the span status: 404 with ERROR is good, 200 with ERROR too */
    ASSERT(classify(0, SLO_SPAN_KIND_SERVER, true, 5, &a404, &good));
    ASSERT(good);
    ASSERT(classify(0, SLO_SPAN_KIND_SERVER, true, 5, &a200, &good));
    ASSERT(good);
    /* consumer counts (default kinds), client / internal / producer do not */
    ASSERT(classify(0, SLO_SPAN_KIND_CONSUMER, false, 5, &a_pay, &good));
    ASSERT(!classify(0, 3, true, 5, &a_pay, &good));
    ASSERT(!classify(0, 1, true, 5, &a_pay, &good));
    ASSERT(!classify(0, 4, true, 5, &a_pay, &good));
    ASSERT(!classify(0, 0, true, 5, &a_pay, &good));
    /* a span attribute matcher that fails: not eligible */
    ASSERT(!classify(0, SLO_SPAN_KIND_SERVER, true, 5, &a_other, &good));
    /* slo 6: 4xx and 5xx bad, status ERROR ignored */
    ASSERT(classify(6, SLO_SPAN_KIND_SERVER, false, 5, &a404, &good));
    ASSERT(!good);
    ASSERT(classify(6, SLO_SPAN_KIND_SERVER, true, 5, &a_pay, &good));
    ASSERT(good);
    ASSERT(classify(6, SLO_SPAN_KIND_SERVER, true, 5, &a200, &good));
    ASSERT(good);
}

static void test_latency(void)
{
    bool good = false;
    struct attrs none = {NULL, 0};
    /* 300 ms exactly: good (inclusive) */
    ASSERT(classify(1, SLO_SPAN_KIND_SERVER, false, 300000000ull, &none, &good));
    ASSERT(good);
    /* one nanosecond more: bad */
    ASSERT(classify(1, SLO_SPAN_KIND_SERVER, false, 300000001ull, &none, &good));
    ASSERT(!good);
    /* an error does not make a fast span bad for a latency SLI */
    ASSERT(classify(1, SLO_SPAN_KIND_SERVER, true, 1, &none, &good));
    ASSERT(good);
    /* kinds: [server] only */
    ASSERT(!classify(1, SLO_SPAN_KIND_CONSUMER, false, 1, &none, &good));
    /* end before start: duration 0, good */
    struct slo_span sp = {SLO_SPAN_KIND_SERVER, false, 5000, 10, lookup, &none, NULL};
    ASSERT(slo_sli_span(&defs->slis[defs->slos[1].sli], &sp, &good));
    ASSERT(good);
}

/* ---- metrics ---- */

static struct slo_point counter(const char *key, bool cumulative, uint64_t start, uint64_t t,
                                uint64_t v, const struct attrs *a)
{
    struct slo_point p;
    memset(&p, 0, sizeof(p));
    p.key = key;
    p.key_len = strlen(key);
    p.cumulative = cumulative;
    p.start_ns = start;
    p.time_ns = t;
    p.value = v;
    p.attr = lookup;
    p.attr_ctx = a;
    return p;
}

static int feed(struct slo_metric_state *st, size_t slo, enum slo_metric_role role,
                const struct slo_point *p)
{
    const struct slo_sli_def *sli = &defs->slis[defs->slos[slo].sli];
    const struct slo_metric_sel *sel = role == SLO_ROLE_GOOD    ? &sli->good
                                       : role == SLO_ROLE_BAD   ? &sli->bad
                                       : role == SLO_ROLE_TOTAL ? &sli->total
                                                                : &sli->histogram;
    struct slo_metric_ref ref = {slo, role, sel};
    return slo_metric_add(st, &ref, p, NULL);
}

#define TAKE(st, slo, final, g, t)                       \
    do {                                                 \
        uint64_t g_, t_;                                 \
        slo_metric_take((st), (slo), (final), &g_, &t_); \
        ASSERT_UEQ(g_, (g));                             \
        ASSERT_UEQ(t_, (t));                             \
    } while (0)

static void test_matchers(void)
{
    const struct slo_sli_def *sli = &defs->slis[defs->slos[2].sli];
    struct kv c2[] = {S("class", "2xx")};
    struct kv c5[] = {S("class", "5xx")};
    struct attrs a2 = {c2, 1}, a5 = {c5, 1}, none = {NULL, 0};
    struct slo_point p = counter("k", true, 1, 2, 3, &a2);
    ASSERT(slo_sli_point_matches(&sli->good, &p));
    ASSERT(slo_sli_point_matches(&sli->total, &p)); /* no matchers */
    p.attr_ctx = &a5;
    ASSERT(!slo_sli_point_matches(&sli->good, &p));
    /* absent on the point: the resource's attribute is used */
    p.attr_ctx = &none;
    p.res_attr = lookup;
    p.res_ctx = &a2;
    ASSERT(slo_sli_point_matches(&sli->good, &p));
    /* present on the point with another value: the point wins */
    p.attr_ctx = &a5;
    ASSERT(!slo_sli_point_matches(&sli->good, &p));
}

static void test_cumulative(void)
{
    struct slo_metric_state *st = NULL;
    struct slo_metric_stats s;
    ASSERT_OK(slo_metric_state_new(defs, 1000, 0, &st));
    /* First points, started (500) before the agent (1000): baselines, nothing counted. */
    struct slo_point g = counter("g", true, 500, 1100, 10, NULL);
    struct slo_point t = counter("t", true, 500, 1100, 100, NULL);
    ASSERT_OK(feed(st, 2, SLO_ROLE_GOOD, &g));
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &t));
    TAKE(st, 2, false, 0, 0);
    /* Same start: 15 - 10 = 5 good, 120 - 100 = 20 total. */
    g = counter("g", true, 500, 1200, 15, NULL);
    t = counter("t", true, 500, 1200, 120, NULL);
    ASSERT_OK(feed(st, 2, SLO_ROLE_GOOD, &g));
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &t));
    TAKE(st, 2, false, 5, 20);
    /* The process restarted (start 1300) and its counters grew past the old values before the
     * next export: 30 > 15 and 200 > 120, yet the start time changed, so the new values are the
     * increase: 30 good of 200 (a "value went down" rule would have counted 15 of 80). */
    g = counter("g", true, 1300, 1400, 30, NULL);
    t = counter("t", true, 1300, 1400, 200, NULL);
    ASSERT_OK(feed(st, 2, SLO_ROLE_GOOD, &g));
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &t));
    TAKE(st, 2, false, 30, 200);
    /* Same start, value down (defensive): a reset, the new value counts: 3 good; total 210 -
     * 200 = 10. */
    g = counter("g", true, 1300, 1500, 3, NULL);
    t = counter("t", true, 1300, 1500, 210, NULL);
    ASSERT_OK(feed(st, 2, SLO_ROLE_GOOD, &g));
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &t));
    TAKE(st, 2, false, 3, 10);
    slo_metric_stats(st, &s);
    ASSERT_UEQ(s.resets, 3); /* g and t at 1300, g going down */
    ASSERT_UEQ(s.baselines, 2);
    ASSERT_UEQ(s.overlaps, 0);
    /* A new series that started (1600) after the agent (1000): counted in full, 7 of 9. */
    g = counter("g2", true, 1600, 1700, 7, NULL);
    t = counter("t2", true, 1600, 1700, 9, NULL);
    ASSERT_OK(feed(st, 2, SLO_ROLE_GOOD, &g));
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &t));
    TAKE(st, 2, false, 7, 9);
    /* A reset whose start (1350) is before the last point seen (1500): counted, flagged. */
    g = counter("g", true, 1350, 1800, 4, NULL);
    t = counter("t", true, 1350, 1800, 4, NULL);
    ASSERT_OK(feed(st, 2, SLO_ROLE_GOOD, &g));
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &t));
    TAKE(st, 2, false, 4, 4);
    slo_metric_stats(st, &s);
    ASSERT_UEQ(s.overlaps, 2);
    ASSERT_UEQ(s.series, 4);
    slo_metric_state_free(st);
}

static void test_delta_and_good_le_total(void)
{
    struct slo_metric_state *st = NULL;
    struct slo_metric_stats s;
    ASSERT_OK(slo_metric_state_new(defs, 1000, 0, &st));
    /* Delta temporality: summed, no state: 4 + 6 good, 5 + 6 total. */
    struct slo_point g = counter("g", false, 0, 0, 4, NULL);
    struct slo_point t = counter("t", false, 0, 0, 5, NULL);
    ASSERT_OK(feed(st, 2, SLO_ROLE_GOOD, &g));
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &t));
    g.value = 6;
    t.value = 6;
    ASSERT_OK(feed(st, 2, SLO_ROLE_GOOD, &g));
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &t));
    TAKE(st, 2, false, 10, 11);
    /* Good first, total in a later request: the 5 good wait for their total of 8. */
    g.value = 5;
    ASSERT_OK(feed(st, 2, SLO_ROLE_GOOD, &g));
    TAKE(st, 2, false, 0, 0);
    t.value = 8;
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &t));
    TAKE(st, 2, false, 5, 8);
    /* 3 good of 1 total: 1 of 1 now, the excess 2 dropped at the final take and counted. */
    g.value = 3;
    t.value = 1;
    ASSERT_OK(feed(st, 2, SLO_ROLE_GOOD, &g));
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &t));
    TAKE(st, 2, true, 1, 1);
    TAKE(st, 2, false, 0, 0);
    slo_metric_stats(st, &s);
    ASSERT_UEQ(s.violations, 2);
    /* bad/total: 2 bad of 10 -> 8 good of 10. */
    struct slo_point b = counter("b", false, 0, 0, 2, NULL);
    t = counter("c", false, 0, 0, 10, NULL);
    ASSERT_OK(feed(st, 3, SLO_ROLE_BAD, &b));
    ASSERT_OK(feed(st, 3, SLO_ROLE_TOTAL, &t));
    TAKE(st, 3, false, 8, 10);
    /* 12 bad of 10: good 0 of 10 now; the 2 extra wait, then are dropped as a violation. */
    b.value = 12;
    ASSERT_OK(feed(st, 3, SLO_ROLE_BAD, &b));
    ASSERT_OK(feed(st, 3, SLO_ROLE_TOTAL, &t));
    TAKE(st, 3, false, 0, 10);
    TAKE(st, 3, true, 0, 0);
    slo_metric_stats(st, &s);
    ASSERT_UEQ(s.violations, 4);
    slo_metric_state_free(st);
}

static void test_histogram(void)
{
    struct slo_metric_state *st = NULL;
    struct slo_metric_stats s;
    ASSERT_OK(slo_metric_state_new(defs, 1000, 0, &st));
    const double bounds[] = {0.1, 0.3, 1.0};
    const uint64_t b1[] = {5, 3, 2, 1};
    struct slo_point p;
    memset(&p, 0, sizeof(p));
    p.key = "h";
    p.key_len = 1;
    p.bounds = bounds;
    p.n_bounds = 3;
    p.buckets = b1;
    p.n_buckets = 4;
    p.count = 11;
    /* Delta: good = buckets with bound <= 0.3: 5 + 3 = 8; total 11. 0.3 is a bound: no warning. */
    bool warn = true;
    struct slo_metric_ref ref = {4, SLO_ROLE_HISTOGRAM, &defs->slis[defs->slos[4].sli].histogram};
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    ASSERT(!warn);
    TAKE(st, 4, false, 8, 11);
    /* Cumulative, started before the agent: baseline (8 of 11), then buckets {6, 4, 2, 1}
     * count 13: good 10 - 8 = 2, total 13 - 11 = 2. */
    p.cumulative = true;
    p.start_ns = 10;
    p.time_ns = 1100;
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    TAKE(st, 4, false, 0, 0);
    const uint64_t b2[] = {6, 4, 2, 1};
    p.buckets = b2;
    p.count = 13;
    p.time_ns = 1200;
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    TAKE(st, 4, false, 2, 2);
    /* Threshold 0.25 is no bound: good = bound 0.1 only = 5 of 11; warned the first time. */
    struct slo_metric_ref off = {5, SLO_ROLE_HISTOGRAM, &defs->slis[defs->slos[5].sli].histogram};
    p.cumulative = false;
    p.buckets = b1;
    p.count = 11;
    ASSERT_OK(slo_metric_add(st, &off, &p, &warn));
    ASSERT(warn);
    ASSERT_OK(slo_metric_add(st, &off, &p, &warn));
    ASSERT(!warn);
    TAKE(st, 5, false, 10, 22);
    /* Bucket counts that do not match the bounds: refused, counted. */
    p.n_buckets = 3;
    ASSERT_EQ(slo_metric_add(st, &off, &p, &warn), AG_EINVAL);
    slo_metric_stats(st, &s);
    ASSERT_UEQ(s.bad_points, 1);
    slo_metric_state_free(st);
}

/* `sampling` of a spans SLI (slo_def.c): adjustedCount (the default) or ignore. */
static void test_sampling_option(void)
{
    static const char yaml[] =
        "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: a}\n"
        "spec: {service: s, objective: \"99\", window: 1h, sli: {spans: {availability: {}}}}\n"
        "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: b}\n"
        "spec: {service: s, objective: \"99\", window: 1h,\n"
        "       sli: {spans: {sampling: adjustedCount, availability: {}}}}\n"
        "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: c}\n"
        "spec: {service: s, objective: \"99\", window: 1h,\n"
        "       sli: {spans: {sampling: ignore, latency: {threshold: 1s}}}}\n";
    struct ag_buf dg;
    ag_buf_init(&dg, 4096);
    struct slo_defs *d = NULL;
    ASSERT_OK(slo_defs_new(&dg, &d));
    ASSERT_OK(slo_defs_add(d, "s.yaml", yaml, strlen(yaml)));
    ASSERT_OK(slo_defs_finish(d));
    ASSERT(!d->slis[d->slos[0].sli].sampling_ignore);
    ASSERT(!d->slis[d->slos[1].sli].sampling_ignore);
    ASSERT(d->slis[d->slos[2].sli].sampling_ignore);
    slo_defs_free(d);
    /* Line 10 "      sampling: always": the value at column 17. */
    static const char bad[] = "apiVersion: otter/v1\n"
                              "kind: SLO\n"
                              "metadata: {name: a}\n"
                              "spec:\n"
                              "  objective: \"99\"\n"
                              "  window: 1h\n"
                              "  sli:\n"
                              "    spans:\n"
                              "      service: s\n"
                              "      sampling: always\n"
                              "      availability: {}\n";
    ag_buf_reset(&dg);
    ASSERT_OK(slo_defs_new(&dg, &d));
    ASSERT_OK(slo_defs_add(d, "s.yaml", bad, strlen(bad)));
    ASSERT_EQ(slo_defs_finish(d), AG_EINVAL);
    ASSERT_STREQ(ag_buf_str(&dg),
                 "s.yaml:10:17: error: sampling 'always': expected adjustedCount or ignore\n");
    slo_defs_free(d);
    ag_buf_cleanup(&dg);
}

/* ---- exponential histograms ---- */

static const char expo_yaml[] =
    "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: e}\n" /* slo 0 */
    "spec: {objective: \"99\", window: 1h, sli: {histogram: {name: lat, threshold: \"0.2\"}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: e4}\n" /* slo 1: a power of two */
    "spec: {objective: \"99\", window: 1h, sli: {histogram: {name: lat, threshold: \"0.25\"}}}\n";

/* An exponential point of series |key| at |scale| with positive buckets from |off|. */
static struct slo_point expo_point(const char *key, bool cumulative, uint64_t start, uint64_t t,
                                   int scale, int32_t off, const uint64_t *pos, size_t n_pos,
                                   uint64_t zero, uint64_t count)
{
    struct slo_point p;
    memset(&p, 0, sizeof(p));
    p.key = key;
    p.key_len = strlen(key);
    p.cumulative = cumulative;
    p.start_ns = start;
    p.time_ns = t;
    p.expo = true;
    p.ex.scale = scale;
    p.ex.pos_offset = off;
    p.ex.pos = pos;
    p.ex.n_pos = n_pos;
    p.ex.zero_count = zero;
    p.ex.count = count;
    return p;
}

static void load_expo(struct ag_buf *dg, struct slo_defs **out)
{
    ASSERT_OK(slo_defs_new(dg, out));
    ASSERT_OK(slo_defs_add(*out, "e.yaml", expo_yaml, strlen(expo_yaml)));
    ASSERT_OK(slo_defs_finish(*out));
}

static void test_expo_histogram(void)
{
    struct ag_buf dg;
    ag_buf_init(&dg, 4096);
    struct slo_defs *d = NULL;
    load_expo(&dg, &d);
    struct slo_metric_state *st = NULL;
    struct slo_metric_stats stats;
    ASSERT_OK(slo_metric_state_new(d, 1000, 0, &st));
    struct slo_metric_ref ref = {0, SLO_ROLE_HISTOGRAM, &d->slis[d->slos[0].sli].histogram};
    struct slo_metric_ref ref4 = {1, SLO_ROLE_HISTOGRAM, &d->slis[d->slos[1].sli].histogram};
    bool warn = false;

    /* Threshold 0.2, scale 3: k_3 = floor(8 * log2 0.2) = floor(-18.58) = -19, so bucket -20,
     * (2^(-20/8), 2^(-19/8)] = (0.1768, 0.1928], is good and -19, (0.1928, 0.2102], is not.
     * Delta point, buckets -20..-18 = {1, 2, 4}: good 1 of 7. 0.2 is no bound: warned once. */
    const uint64_t a[] = {1, 2, 4};
    struct slo_point p = expo_point("s", false, 0, 0, 3, -20, a, 3, 0, 7);
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    ASSERT(warn);
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    ASSERT(!warn);
    TAKE(st, 0, false, 2, 14);
    /* Threshold 0.25 = 2^-2 is the bound of bucket -17 at scale 3 (2^(-16/8)): no warning;
     * buckets -20..-18 all good: 7 of 7. */
    ASSERT_OK(slo_metric_add(st, &ref4, &p, &warn));
    ASSERT(!warn);
    TAKE(st, 1, false, 7, 7);

    /* Cumulative series "s" started at 10, before the agent (1000): the first point is a
     * baseline (good 1 of 7). Then {2, 2, 5} and a zero bucket of 1, count 10: good at scale 3
     * = 1 + 2 = 3: increase 3 - 1 = 2 of 10 - 7 = 3. */
    p = expo_point("s", true, 10, 1100, 3, -20, a, 3, 0, 7);
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    TAKE(st, 0, false, 0, 0);
    const uint64_t b[] = {2, 2, 5};
    p = expo_point("s", true, 10, 1200, 3, -20, b, 3, 1, 10);
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    TAKE(st, 0, false, 2, 3);

    /* The SDK downscales to 2: bucket j at scale 2 = buckets 2j, 2j+1 at scale 3, so {-20: 2,
     * -19: 2, -18: 5} becomes {-10: 4, -9: 5}; one more value 0.18 lands in -10, (0.1768,
     * 0.2102]: {5, 5}, zero 1, count 11. At scale 2, k_2 = floor(-19 / 2) = -10: no positive
     * bucket is good (0.18 no longer is). Compared at scale 2: new good 1 (zero); the old
     * point's good at scale 2 = zero 1 + buckets of index < -10 * 2 = -20: 1. Increase 0 of 1.
     * (Its own-scale good 3 against 1 would have looked like a reset and counted 1 of 11.) */
    const uint64_t c[] = {5, 5};
    p = expo_point("s", true, 10, 1300, 2, -10, c, 2, 1, 11);
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    TAKE(st, 0, false, 0, 1);
    slo_metric_stats(st, &stats);
    ASSERT_UEQ(stats.rescaled, 1);
    ASSERT_UEQ(stats.resets, 0);

    /* Back to scale 3 (no SDK does, but a sender may): compared at scale 2 again. {-20: 3,
     * -19: 2, -18: 5, -17: 2}, zero 1, count 13: at scale 2 buckets -20..-19 are -10: not good:
     * good 1; old good 1: increase 0 of 2. Its own good at scale 3 is 1 + 3 = 4, kept. */
    const uint64_t e[] = {3, 2, 5, 2};
    p = expo_point("s", true, 10, 1400, 3, -20, e, 4, 1, 13);
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    TAKE(st, 0, false, 0, 2);
    /* Same scale, good 1 + 4 = 5 of 14: increase 5 - 4 = 1 of 1. */
    const uint64_t f[] = {4, 2, 5, 2};
    p = expo_point("s", true, 10, 1500, 3, -20, f, 4, 1, 14);
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    TAKE(st, 0, false, 1, 1);

    /* A new start time (the SDK restarted at 2000 > 1000): a reset, the new point counts whole:
     * {1}: good 1 of 1. Then the count grows but good goes down (0 of 2): a reset too. */
    const uint64_t g1[] = {1}, g2[] = {0, 2};
    p = expo_point("s", true, 2000, 2100, 3, -20, g1, 1, 0, 1);
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    TAKE(st, 0, false, 1, 1);
    p = expo_point("s", true, 2000, 2200, 3, -20, g2, 2, 0, 2);
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    TAKE(st, 0, false, 0, 2);
    slo_metric_stats(st, &stats);
    ASSERT_UEQ(stats.resets, 2);

    /* An explicit histogram of the same name and attributes is another series: its first point
     * is a baseline (0 pending), not compared with the exponential one. */
    const double bounds[] = {0.2};
    const uint64_t eb[] = {3, 1};
    struct slo_point x = expo_point("s", true, 10, 1600, 0, 0, NULL, 0, 0, 0);
    x.expo = false;
    x.bounds = bounds;
    x.n_bounds = 1;
    x.buckets = eb;
    x.n_buckets = 2;
    x.count = 4;
    ASSERT_OK(slo_metric_add(st, &ref, &x, &warn));
    TAKE(st, 0, false, 0, 0);
    slo_metric_stats(st, &stats);
    ASSERT_UEQ(stats.series, 2);

    /* A cumulative series first seen after the agent started counts whole: "t" from 1500. */
    p = expo_point("t", true, 1500, 1600, 3, -20, b, 3, 1, 10);
    ASSERT_OK(slo_metric_add(st, &ref, &p, &warn));
    TAKE(st, 0, false, 3, 10);

    /* Malformed: a scale outside [-10, 20]; a negative zero_threshold. Counted, nothing added. */
    p = expo_point("s", false, 0, 0, 21, 0, a, 3, 0, 7);
    ASSERT_EQ(slo_metric_add(st, &ref, &p, &warn), AG_EINVAL);
    p = expo_point("s", false, 0, 0, 3, 0, a, 3, 0, 7);
    p.ex.zero_threshold = -1;
    ASSERT_EQ(slo_metric_add(st, &ref, &p, &warn), AG_EINVAL);
    slo_metric_stats(st, &stats);
    ASSERT_UEQ(stats.bad_points, 2);
    TAKE(st, 0, false, 0, 0);
    slo_metric_state_free(st);
    slo_defs_free(d);
    ag_buf_cleanup(&dg);
}

static void put_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void test_expo_checkpoint(void)
{
    struct ag_buf dg, b;
    ag_buf_init(&dg, 4096);
    ag_buf_init(&b, 1 << 16);
    struct slo_defs *d = NULL;
    load_expo(&dg, &d);
    struct slo_metric_state *st = NULL, *st2 = NULL;
    ASSERT_OK(slo_metric_state_new(d, 1000, 0, &st));
    struct slo_metric_ref ref = {0, SLO_ROLE_HISTOGRAM, &d->slis[d->slos[0].sli].histogram};
    /* The state of test_expo_histogram after its second cumulative point: scale 3, good 3 of
     * 10; at scale 2 and below good 1 (the zero bucket): ladder {3, 1}. */
    const uint64_t a[] = {1, 2, 4}, b2[] = {2, 2, 5}, c[] = {5, 5};
    struct slo_point p = expo_point("s", true, 10, 1100, 3, -20, a, 3, 0, 7);
    ASSERT_OK(slo_metric_add(st, &ref, &p, NULL));
    p = expo_point("s", true, 10, 1200, 3, -20, b2, 3, 1, 10);
    ASSERT_OK(slo_metric_add(st, &ref, &p, NULL));
    TAKE(st, 0, false, 2, 3);
    ASSERT_OK(slo_metric_save(st, &b));
    /* "SLOM", version 2, 2 SLOs with (part, total) 0 each, 1 series: id 0 << 8 | 4, key length
     * 1, "s", start 10, time 1200, good 3, count 10, scale 3 + 10 = 13, 2 rungs: 3, 1. */
    uint8_t want[4 + 8 * 9 + 1 + 8 * 8];
    size_t o = 0;
    memcpy(want, "SLOM", 4);
    o = 4;
    const uint64_t head[] = {2, 2, 0, 0, 0, 0, 1, 4, 1};
    for (size_t i = 0; i < 9; i++, o += 8) {
        put_le(want + o, head[i]);
    }
    want[o++] = 's';
    const uint64_t tail[] = {10, 1200, 3, 10, 13, 2, 3, 1};
    for (size_t i = 0; i < 8; i++, o += 8) {
        put_le(want + o, tail[i]);
    }
    ASSERT_UEQ(b.len, o);
    ASSERT_MEMEQ(b.data, want, o);

    /* Restored into a new agent, the downscaled point compares at scale 2 as before: 0 of 1. */
    ASSERT_OK(slo_metric_state_new(d, 5000, 0, &st2));
    ASSERT_OK(slo_metric_restore(st2, b.data, b.len));
    p = expo_point("s", true, 10, 1300, 2, -10, c, 2, 1, 11);
    ASSERT_OK(slo_metric_add(st2, &ref, &p, NULL));
    TAKE(st2, 0, false, 0, 1);

    /* Refused: every truncation; a rising ladder ({3, 4}); a repeated last rung ({3, 1, 1} is
     * not how it is written); a ladder shorter than written; scale index 31 (scale 21); a count
     * below the good count; role 4 in a version 1 checkpoint. The tail is start (o - 64), time,
     * good, count (o - 40), scale (o - 32), rungs (o - 24), the rungs. The state is kept. */
    for (size_t n = 0; n < b.len; n++) {
        ASSERT_EQ(slo_metric_restore(st2, b.data, n), AG_EPROTO);
    }
    uint8_t bad[sizeof(want) + 8];
    memcpy(bad, want, o);
    put_le(bad + o - 8, 4); /* ladder {3, 4} */
    ASSERT_EQ(slo_metric_restore(st2, bad, o), AG_EPROTO);
    memcpy(bad, want, o);
    put_le(bad + o - 24, 3); /* n_ladder 3: {3, 1, 1} */
    put_le(bad + o, 1);
    ASSERT_EQ(slo_metric_restore(st2, bad, o + 8), AG_EPROTO);
    memcpy(bad, want, o);
    put_le(bad + o - 24, 1); /* n_ladder 1: {3}, then a stray 1 */
    ASSERT_EQ(slo_metric_restore(st2, bad, o), AG_EPROTO);
    memcpy(bad, want, o);
    put_le(bad + o - 32, 31); /* scale 21 */
    ASSERT_EQ(slo_metric_restore(st2, bad, o), AG_EPROTO);
    memcpy(bad, want, o);
    put_le(bad + o - 40, 2); /* count 2 < good 3 */
    ASSERT_EQ(slo_metric_restore(st2, bad, o), AG_EPROTO);
    memcpy(bad, want, o);
    put_le(bad + 4, 1); /* version 1 has no exponential series */
    ASSERT_EQ(slo_metric_restore(st2, bad, o), AG_EPROTO);
    p = expo_point("s", true, 10, 1400, 2, -10, c, 2, 1, 12);
    ASSERT_OK(slo_metric_add(st2, &ref, &p, NULL));
    TAKE(st2, 0, false, 0, 1);

    /* A version 1 checkpoint (before exponential series) still restores: 2 SLOs, pending
     * (part 0, total 5) for SLO 1, no series; it is written back as version 2. */
    uint8_t v1[4 + 8 * 7];
    memcpy(v1, "SLOM", 4);
    const uint64_t v1w[] = {1, 2, 0, 0, 0, 5, 0};
    for (size_t i = 0; i < 7; i++) {
        put_le(v1 + 4 + 8 * i, v1w[i]);
    }
    ASSERT_OK(slo_metric_restore(st2, v1, sizeof(v1)));
    TAKE(st2, 1, false, 0, 5);
    ag_buf_reset(&b);
    ASSERT_OK(slo_metric_save(st2, &b));
    ASSERT_UEQ(b.len, sizeof(v1));
    ASSERT_UEQ(b.data[4], 2);
    slo_metric_state_free(st);
    slo_metric_state_free(st2);
    slo_defs_free(d);
    ag_buf_cleanup(&b);
    ag_buf_cleanup(&dg);
}

static void test_max_series(void)
{
    struct slo_metric_state *st = NULL;
    struct slo_metric_stats s;
    ASSERT_OK(slo_metric_state_new(defs, 0, 1, &st));
    struct slo_point a = counter("a", true, 5, 6, 1, NULL);
    struct slo_point b = counter("b", true, 5, 6, 1, NULL);
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &a));
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &b));
    slo_metric_stats(st, &s);
    ASSERT_UEQ(s.series, 1);
    ASSERT_UEQ(s.dropped_series, 1);
    /* start 5 > since 0: the first point counted: 1 */
    TAKE(st, 2, false, 0, 1);
    slo_metric_state_free(st);
}

static void test_save_restore(void)
{
    struct slo_metric_state *st = NULL, *st2 = NULL;
    ASSERT_OK(slo_metric_state_new(defs, 1000, 0, &st));
    struct slo_point g = counter("g", true, 500, 1100, 10, NULL);
    struct slo_point t = counter("t", true, 500, 1100, 100, NULL);
    ASSERT_OK(feed(st, 2, SLO_ROLE_GOOD, &g));
    ASSERT_OK(feed(st, 2, SLO_ROLE_TOTAL, &t));
    struct slo_point d = counter("b", false, 0, 0, 3, NULL);
    ASSERT_OK(feed(st, 3, SLO_ROLE_BAD, &d)); /* pending: 3 bad waiting for a total */
    struct ag_buf b;
    ag_buf_init(&b, 1 << 20);
    ASSERT_OK(slo_metric_save(st, &b));
    slo_metric_state_free(st);

    /* A new agent (started at 5000) restores the series: the next cumulative points give the
     * increase since the saved ones (15 - 10 = 5 of 130 - 100 = 30), not a new baseline. */
    ASSERT_OK(slo_metric_state_new(defs, 5000, 0, &st2));
    ASSERT_OK(slo_metric_restore(st2, b.data, b.len));
    g = counter("g", true, 500, 5100, 15, NULL);
    t = counter("t", true, 500, 5100, 130, NULL);
    ASSERT_OK(feed(st2, 2, SLO_ROLE_GOOD, &g));
    ASSERT_OK(feed(st2, 2, SLO_ROLE_TOTAL, &t));
    TAKE(st2, 2, false, 5, 30);
    d = counter("c", false, 0, 0, 10, NULL);
    ASSERT_OK(feed(st2, 3, SLO_ROLE_TOTAL, &d));
    TAKE(st2, 3, false, 7, 10); /* 10 - 3 bad */

    /* Every truncation and a flipped magic are refused, and leave the state as it was. */
    for (size_t n = 0; n < b.len; n++) {
        ASSERT_EQ(slo_metric_restore(st2, b.data, n), AG_EPROTO);
    }
    uint8_t *copy = ag_malloc(b.len + 1);
    ASSERT_NOT_NULL(copy);
    memcpy(copy, b.data, b.len);
    copy[b.len] = 0;
    ASSERT_EQ(slo_metric_restore(st2, copy, b.len + 1), AG_EPROTO); /* trailing byte */
    copy[0] = 'X';
    ASSERT_EQ(slo_metric_restore(st2, copy, b.len), AG_EPROTO);
    ag_free(copy);
    g = counter("g", true, 500, 5200, 16, NULL);
    ASSERT_OK(feed(st2, 2, SLO_ROLE_GOOD, &g));
    t = counter("t", true, 500, 5200, 131, NULL);
    ASSERT_OK(feed(st2, 2, SLO_ROLE_TOTAL, &t));
    TAKE(st2, 2, false, 1, 1);
    ag_buf_cleanup(&b);
    slo_metric_state_free(st2);
    slo_metric_state_free(NULL);
}

/* ---- the route index: slo_sli_span_hits against slo_sli_span over every SLO ---- */

static const char route_yaml[] =
    "apiVersion: otter/v1\nkind: SLO\nmetadata: {name: r0}\n" /* no attribute matcher */
    "spec: {service: shop, objective: \"99\", window: 1h, sli: {spans: {availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r1}\n"
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {attributes: {http.route: /a}, availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r2}\n" /* same key and value */
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {attributes: {http.route: /a}, latency: {threshold: 100ms}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r3}\n" /* same key, another value */
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {attributes: {http.route: /b}, availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r4}\n" /* an integer as text */
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {attributes: {http.response.status_code: \"200\"},\n"
    "                     latency: {threshold: 50ms}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r5}\n" /* a boolean as text */
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {attributes: {flag: \"true\"}, availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r6}\n" /* a key spans lack */
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {attributes: {missing.key: x}, availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r7}\n" /* two matchers */
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {attributes: {http.route: /a, http.request.method: GET},\n"
    "                     availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r8}\n" /* another first key */
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {attributes: {http.request.method: GET, http.route: /b},\n"
    "                     availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r9}\n" /* a resource matcher */
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {resource: {env: prod}, attributes: {http.route: /a},\n"
    "                     availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r10}\n" /* another service */
    "spec: {service: other, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {attributes: {http.route: /a}, availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r11}\n" /* "007" is not 7 */
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {attributes: {code: \"007\"}, availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r12}\n" /* consumers only */
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {kinds: [consumer], attributes: {http.route: /a}, availability: {}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r13}\n" /* "7" is 7 */
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {attributes: {code: \"7\"}, latency: {threshold: 10ms}}}}\n"
    "---\napiVersion: otter/v1\nkind: SLO\nmetadata: {name: r14}\n" /* "false" */
    "spec: {service: shop, objective: \"99\", window: 1h,\n"
    "       sli: {spans: {attributes: {flag: \"false\"}, availability: {}}}}\n";

#define N_ROUTE_SLOS 15

/* The length-taking lookup: checks the length it is given, then answers as lookup(). */
static size_t bad_len_calls;
static void lookup_len(const void *ctx, const char *key, size_t len, struct slo_attr *out)
{
    if (strlen(key) != len) {
        bad_len_calls++;
    }
    lookup(ctx, key, out);
}

struct verdict {
    bool hit, good;
};

/* The plain path: every SLO of the definitions, service and resource matched here, then
 * slo_sli_span(). */
static void plain_verdicts(const struct slo_defs *d, const char *svc, const struct attrs *res,
                           const struct slo_span *sp, struct verdict *v)
{
    for (size_t i = 0; i < d->n_slos; i++) {
        const struct slo_sli_def *sli = &d->slis[d->slos[i].sli];
        v[i].hit = false;
        if (sli->source == SLO_SRC_SPANS && sli->service != NULL && svc != NULL &&
            strcmp(sli->service, svc) == 0 && slo_sli_resource_matches(sli, lookup, res)) {
            v[i].hit = slo_sli_span(sli, sp, &v[i].good);
        }
    }
}

/* The exporter's path: the service through the index, resource matchers once, then the hits. */
static void indexed_verdicts(const struct slo_defs *d, const struct slo_sli_index *ix,
                             const char *svc, const struct attrs *res, const struct slo_span *sp,
                             struct verdict *v)
{
    bool res_ok[N_ROUTE_SLOS];
    struct slo_span_hit hits[N_ROUTE_SLOS];
    for (size_t i = 0; i < d->n_slos; i++) {
        v[i].hit = false;
        res_ok[i] = (i * 7 + 3) % 2 == 0; /* garbage: only the service's entries may be read */
    }
    const struct slo_sli_service *s =
        svc != NULL ? slo_sli_service_find(ix, svc, strlen(svc)) : NULL;
    if (s == NULL) {
        return;
    }
    const size_t *slos;
    size_t n = slo_sli_service_slos(s, &slos);
    ASSERT(n <= slo_sli_max_service_slos(ix));
    for (size_t i = 0; i < n; i++) {
        res_ok[slos[i]] = slo_sli_resource_matches(&d->slis[d->slos[slos[i]].sli], lookup, res);
    }
    size_t nh = slo_sli_span_hits(ix, s, res_ok, sp, hits);
    ASSERT(nh <= n);
    for (size_t i = 0; i < nh; i++) {
        ASSERT(hits[i].slo < d->n_slos);
        ASSERT(!v[hits[i].slo].hit); /* each SLO at most once */
        v[hits[i].slo].hit = true;
        v[hits[i].slo].good = hits[i].good;
    }
}

static void route_defs(struct ag_buf *dg, struct slo_defs **out)
{
    struct slo_defs *d = NULL;
    ASSERT_OK(slo_defs_new(dg, &d));
    *out = d;
    ASSERT_OK(slo_defs_add(d, "r.yaml", route_yaml, strlen(route_yaml)));
    ASSERT_OK(slo_defs_finish(d));
    ASSERT_UEQ(d->n_errors, 0);
    ASSERT_UEQ(d->n_slos, N_ROUTE_SLOS);
}

#define B(k, v)                          \
    {                                    \
        (k),                             \
        {                                \
            SLO_ATTR_BOOL, NULL, 0, (v)  \
        }                                \
    }

static void expect_hits(const struct verdict *v, const int *exp)
{
    /* exp[i]: -1 not eligible, 0 bad, 1 good */
    for (size_t i = 0; i < N_ROUTE_SLOS; i++) {
        if (exp[i] < 0) {
            ASSERT(!v[i].hit);
        } else {
            ASSERT(v[i].hit);
            ASSERT_EQ(v[i].good, exp[i] == 1);
        }
    }
}

static void test_route_index_cases(void)
{
    struct ag_buf dg;
    ag_buf_init(&dg, 65536);
    struct slo_defs *d = NULL;
    route_defs(&dg, &d);
    ASSERT_NOT_NULL(d);
    ASSERT_UEQ(d->n_slos, N_ROUTE_SLOS);
    struct slo_sli_index *ix = NULL;
    ASSERT_OK(slo_sli_index_new(d, &ix));
    ASSERT_UEQ(slo_sli_max_service_slos(ix), 14); /* shop: r0..r9, r11..r14 */
    ASSERT_NULL(slo_sli_service_find(ix, "sho", 3));
    struct kv prod[] = {S("env", "prod")}, dev[] = {S("env", "dev")};
    struct attrs rprod = {prod, 1}, rdev = {dev, 1};
    struct verdict v[N_ROUTE_SLOS], w[N_ROUTE_SLOS];

    /* Span A: server, /a, GET, status 200 (an integer), 80 ms, resource env=prod.
     * r0 good (200); r1 good; r2 80 <= 100 ms good; r3 /b no; r4 200 equals "200", 80 > 50 ms
     * bad; r5, r14 no flag; r6 no missing.key; r7 /a and GET good; r8 GET but /a != /b no;
     * r9 prod and /a good; r10 other service; r11, r13 no code; r12 consumers only. */
    struct kv a[] = {S("http.route", "/a"), S("http.request.method", "GET"),
                     I("http.response.status_code", 200)};
    struct attrs aa = {a, 3};
    struct slo_span sa = {SLO_SPAN_KIND_SERVER, false, 0, 80000000, lookup, &aa, lookup_len};
    static const int exp_a[N_ROUTE_SLOS] = {1, 1, 1, -1, 0, -1, -1, 1, -1, 1, -1, -1, -1, -1, -1};
    plain_verdicts(d, "shop", &rprod, &sa, w);
    expect_hits(w, exp_a);
    indexed_verdicts(d, ix, "shop", &rprod, &sa, v);
    expect_hits(v, exp_a);

    /* Span B: consumer, /b, flag true (a boolean), code 7 (an integer), status 503, 5 ms,
     * resource env=dev. r0 bad (5xx); r1, r2, r7 /a no; r3 /b bad; r4 503 != "200" no; r5 true
     * equals "true", bad; r14 true != "false" no; r8 no method; r9 dev no; r11 7 != "007" no;
     * r12 consumer but /b no; r13 7 equals "7", 5 <= 10 ms good. */
    struct kv b[] = {S("http.route", "/b"), B("flag", 1), I("code", 7),
                     I("http.response.status_code", 503)};
    struct attrs ab = {b, 4};
    struct slo_span sb = {SLO_SPAN_KIND_CONSUMER, false, 0, 5000000, lookup, &ab, lookup_len};
    static const int exp_b[N_ROUTE_SLOS] = {0, -1, -1, 0, -1, 0, -1, -1, -1, -1, -1, -1, -1, 1, -1};
    plain_verdicts(d, "shop", &rdev, &sb, w);
    expect_hits(w, exp_b);
    indexed_verdicts(d, ix, "shop", &rdev, &sb, v);
    expect_hits(v, exp_b);

    /* Span C: service other, server, /a, status ERROR without a code: r10 bad, nothing else. */
    struct kv c[] = {S("http.route", "/a")};
    struct attrs ac = {c, 1};
    struct slo_span sc = {SLO_SPAN_KIND_SERVER, true, 0, 1, lookup, &ac, lookup_len};
    static const int exp_c[N_ROUTE_SLOS] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                            -1, -1, 0,  -1, -1, -1, -1};
    indexed_verdicts(d, ix, "other", &rprod, &sc, v);
    expect_hits(v, exp_c);

    /* Span D: shop, a client span (kind 3): no SLO, whatever its attributes. */
    struct slo_span sd = {3, false, 0, 1, lookup, &aa, lookup_len};
    static const int none[N_ROUTE_SLOS] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                           -1, -1, -1, -1, -1, -1, -1};
    indexed_verdicts(d, ix, "shop", &rprod, &sd, v);
    expect_hits(v, none);
    ASSERT_UEQ(bad_len_calls, 0);

    slo_sli_index_free(ix);
    slo_defs_free(d);
    ag_buf_cleanup(&dg);
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(uint64_t n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (rng_state * 2685821657736338717ull >> 11) % n;
}

static void test_route_index_generated(void)
{
    struct ag_buf dg;
    ag_buf_init(&dg, 65536);
    struct slo_defs *d = NULL;
    route_defs(&dg, &d);
    ASSERT_NOT_NULL(d);
    ASSERT_UEQ(d->n_slos, N_ROUTE_SLOS);
    struct slo_sli_index *ix = NULL;
    ASSERT_OK(slo_sli_index_new(d, &ix));
    static const char *const svcs[] = {"shop", "other", "nobody"};
    static const char *const routes[] = {"/a", "/b", "/c", "/a/", ""};
    static const char *const methods[] = {"GET", "POST", "get"};
    static const char *const codes_s[] = {"200", "503", "404", "7", "007", "abc"};
    static const int64_t codes_i[] = {200, 503, 404, 7, -7, 0};
    static const char *const keys[] = {"http.route", "http.request.method",
                                       "http.response.status_code", "http.status_code",
                                       "flag", "code", "missing.key", "env"};
    size_t hits_total = 0, good_total = 0, per_slo[N_ROUTE_SLOS] = {0};
    for (int n = 0; n < 20000; n++) {
        struct kv kvs[10];
        size_t nk = rnd(11); /* 0..10 attributes, keys may repeat */
        for (size_t i = 0; i < nk; i++) {
            size_t key = rnd(8);
            kvs[i].key = keys[key];
            switch (rnd(5)) {
            case 0: { /* any text, often the wrong key's */
                const char *t = rnd(2)   ? routes[rnd(5)]
                                : rnd(2) ? methods[rnd(3)]
                                         : codes_s[rnd(6)];
                kvs[i].a = (struct slo_attr){SLO_ATTR_STR, t, strlen(t), 0};
                break;
            }
            case 1:
                kvs[i].a = (struct slo_attr){SLO_ATTR_INT, NULL, 0, codes_i[rnd(6)]};
                break;
            case 2:
                kvs[i].a = (struct slo_attr){SLO_ATTR_BOOL, NULL, 0, (int64_t)rnd(2)};
                break;
            case 3:
                kvs[i].a = (struct slo_attr){rnd(2) ? SLO_ATTR_OTHER : SLO_ATTR_STR, "x", 1, 0};
                break;
            default: { /* the key's own kind of value */
                const char *t = key == 0 ? routes[rnd(5)] : key == 1 ? methods[rnd(3)] : "x";
                kvs[i].a = (struct slo_attr){SLO_ATTR_STR, t, strlen(t), 0};
                if (key == 2 || key == 3 || key == 5) {
                    kvs[i].a = (struct slo_attr){SLO_ATTR_INT, NULL, 0, codes_i[rnd(6)]};
                }
                if (key == 4) {
                    kvs[i].a = (struct slo_attr){SLO_ATTR_BOOL, NULL, 0, (int64_t)rnd(2)};
                }
                break;
            }
            }
        }
        struct kv rkv[] = {S("env", "prod")};
        if (rnd(2)) {
            rkv[0].a = (struct slo_attr){SLO_ATTR_STR, "dev", 3, 0};
        }
        struct attrs as = {kvs, nk}, rs = {rkv, rnd(4) ? 1u : 0u};
        static const int kinds[] = {0, 1, 2, 2, 2, 3, 4, 5, 5};
        struct slo_span sp = {kinds[rnd(9)], rnd(2) != 0, 1000, 1000 + rnd(200) * 1000000,
                              lookup, &as, lookup_len};
        const char *svc = svcs[rnd(3)];
        struct verdict v[N_ROUTE_SLOS], w[N_ROUTE_SLOS];
        plain_verdicts(d, svc, &rs, &sp, w);
        indexed_verdicts(d, ix, svc, &rs, &sp, v);
        for (size_t i = 0; i < N_ROUTE_SLOS; i++) {
            ASSERT_EQ(v[i].hit, w[i].hit);
            if (w[i].hit) {
                ASSERT_EQ(v[i].good, w[i].good);
                hits_total++;
                good_total += w[i].good;
                per_slo[i]++;
            }
        }
        /* The same span through attr alone (no attr_len) gives the same verdicts too. */
        sp.attr_len = NULL;
        indexed_verdicts(d, ix, svc, &rs, &sp, v);
        for (size_t i = 0; i < N_ROUTE_SLOS; i++) {
            ASSERT_EQ(v[i].hit, w[i].hit);
            ASSERT(!w[i].hit || v[i].good == w[i].good);
        }
    }
    printf("# %zu eligible (span, SLO) pairs, %zu good\n", hits_total, good_total);
    /* The generator must reach both outcomes often enough to mean something (5,480 eligible
     * pairs, 2,785 good with this seed; r7 2 and r8 4, the rarest), and every SLO, r6 too
     * ("missing.key" is sometimes generated, with "x" as its value). */
    ASSERT(hits_total > 2000);
    ASSERT(good_total > 1000 && good_total < hits_total);
    for (size_t i = 0; i < N_ROUTE_SLOS; i++) {
        ASSERT(per_slo[i] > 0);
    }
    ASSERT_UEQ(bad_len_calls, 0);
    slo_sli_index_free(ix);
    slo_defs_free(d);
    ag_buf_cleanup(&dg);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    for (long n = 0;; n++) {
        struct slo_sli_index *ix = NULL;
        struct slo_metric_state *st = NULL;
        ag_mem_fail_after(n);
        int rc = slo_sli_index_new(defs, &ix);
        if (rc == 0) {
            rc = slo_metric_state_new(defs, 0, 0, &st);
        }
        if (rc == 0) {
            struct slo_point a = counter("a", true, 5, 6, 1, NULL);
            rc = feed(st, 2, SLO_ROLE_TOTAL, &a);
        }
        ag_mem_fail_after(-1);
        slo_sli_index_free(ix);
        slo_metric_state_free(st);
        if (rc == 0) {
            ASSERT(n > 5);
            break;
        }
        ASSERT_EQ(rc, AG_ENOMEM);
    }
#else
    printf("# failmalloc not built in (-Dfailmalloc=true); skipped\n");
#endif
}

static void test_cleanup(void)
{
    slo_defs_free(defs);
    ag_buf_cleanup(&diag);
}

AG_TEST_MAIN(AG_TEST_CASE(test_load), AG_TEST_CASE(test_attr_equals), AG_TEST_CASE(test_index),
             AG_TEST_CASE(test_resource), AG_TEST_CASE(test_availability),
             AG_TEST_CASE(test_latency), AG_TEST_CASE(test_matchers), AG_TEST_CASE(test_cumulative),
             AG_TEST_CASE(test_delta_and_good_le_total), AG_TEST_CASE(test_histogram),
             AG_TEST_CASE(test_sampling_option), AG_TEST_CASE(test_expo_histogram),
             AG_TEST_CASE(test_expo_checkpoint),
             AG_TEST_CASE(test_max_series), AG_TEST_CASE(test_save_restore),
             AG_TEST_CASE(test_route_index_cases), AG_TEST_CASE(test_route_index_generated),
             AG_TEST_CASE(test_failmalloc), AG_TEST_CASE(test_cleanup))
