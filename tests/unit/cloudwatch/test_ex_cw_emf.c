/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of ex_cw_emf: every mapping rule of emf-cwlogs.md 2-8 with hand-computed
 * expectations, and every event produced checked against the EMF rules by emf_check.h.
 */
#include "ag_test.h"
#include "ag_arena.h"
#include "ag_json.h"
#include "ag_mem.h"
#include "ag_otlp_json.h"
#include "ex_cw_emf.h"
#include "emf_check.h"

#include <stdlib.h>

#define MAX_EVENTS 1024
#define NOW_NS 1700000000000000000ull /* 2023-11-14T22:13:20Z */

/* ---- OTLP/JSON builders ---- */

/* J(a, b, ...) joins string literals with JSON commas: a "," b "," ... (up to 10). */
#define J1(a) a
#define J2(a, ...) a "," J1(__VA_ARGS__)
#define J3(a, ...) a "," J2(__VA_ARGS__)
#define J4(a, ...) a "," J3(__VA_ARGS__)
#define J5(a, ...) a "," J4(__VA_ARGS__)
#define J6(a, ...) a "," J5(__VA_ARGS__)
#define J7(a, ...) a "," J6(__VA_ARGS__)
#define J8(a, ...) a "," J7(__VA_ARGS__)
#define J9(a, ...) a "," J8(__VA_ARGS__)
#define J10(a, ...) a "," J9(__VA_ARGS__)
#define JPICK(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, NAME, ...) NAME
#define J(...) JPICK(__VA_ARGS__, J10, J9, J8, J7, J6, J5, J4, J3, J2, J1, x)(__VA_ARGS__)

#define REQ(...) "{\"resourceMetrics\":[" J(__VA_ARGS__) "]}"
#define RM(rattrs, ...) "{\"resource\":{\"attributes\":[" rattrs "]},\"scopeMetrics\":[" J(__VA_ARGS__) "]}"
#define SM(scope, ...) "{\"scope\":{\"name\":\"" scope "\"},\"metrics\":[" J(__VA_ARGS__) "]}"
#define S(k, v) "{\"key\":\"" k "\",\"value\":{\"stringValue\":\"" v "\"}}"
#define GAUGE(name, unit, ...) "{\"name\":\"" name "\",\"unit\":\"" unit "\",\"gauge\":{\"dataPoints\":[" J(__VA_ARGS__) "]}}"
#define SUM(name, temp, mono, ...) "{\"name\":\"" name "\",\"sum\":{\"aggregationTemporality\":" #temp ",\"isMonotonic\":" #mono ",\"dataPoints\":[" J(__VA_ARGS__) "]}}"
#define HIST(name, ...) "{\"name\":\"" name "\",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[" J(__VA_ARGS__) "]}}"
#define EXPH(name, ...) "{\"name\":\"" name "\",\"exponentialHistogram\":{\"aggregationTemporality\":1,\"dataPoints\":[" J(__VA_ARGS__) "]}}"
#define SUMMARY(name, ...) "{\"name\":\"" name "\",\"summary\":{\"dataPoints\":[" J(__VA_ARGS__) "]}}"
/* A number point at second |t| (start 1000 s) with the value fields |val|. */
#define NDP(attrs, t, val) "{\"attributes\":[" attrs "],\"startTimeUnixNano\":\"1000000000000\",\"timeUnixNano\":\"" #t "000000000\"," val "}"
#define NDPS(attrs, start, t, val) "{\"attributes\":[" attrs "],\"startTimeUnixNano\":\"" #start "000000000\",\"timeUnixNano\":\"" #t "000000000\"," val "}"
#define D(v) "\"asDouble\":" #v
#define I(v) "\"asInt\":\"" #v "\""

struct ev {
    char group[600];
    char stream[600];
    int64_t ts;
    json_t *j;
};

static struct {
    struct ev e[MAX_EVENTS];
    size_t n;
    int version;
    size_t max;
    int bad;
} E;

static void evs_reset(int version, size_t max)
{
    for (size_t i = 0; i < E.n; i++) {
        json_decref(E.e[i].j);
    }
    E.n = 0;
    E.bad = 0;
    E.version = version;
    E.max = max > 0 ? max : EX_CW_EMF_DEFAULT_EVENT_BYTES;
}

static int sink(void *arg, const char *group, const char *stream, int64_t ts, const char *msg,
                size_t len)
{
    (void)arg;
    char why[256];
    if (emf_check(msg, len, E.version, E.max, why, sizeof(why)) != 0) {
        printf("# invalid EMF event (%s): %.*s\n", why, (int)(len < 2000 ? len : 2000), msg);
        E.bad++;
    }
    if (E.n == MAX_EVENTS) {
        E.bad++;
        return 0;
    }
    struct ev *e = &E.e[E.n++];
    snprintf(e->group, sizeof(e->group), "%s", group);
    snprintf(e->stream, sizeof(e->stream), "%s", stream);
    e->ts = ts;
    json_error_t err;
    e->j = json_loadb(msg, len, 0, &err);
    if (e->j == NULL) {
        E.bad++;
    }
    return 0;
}

/* When set, tr() translates with ex_cw_emf_translate_escaped() through esink(). */
static bool use_escaped;

/*
 * The escaped form's sink: jansson reads each event back as the content of a JSON string (an
 * independent unescaper); the plain event must have the length reported, escape again to the
 * same bytes (ag_json_escape()), and then passes every check sink() makes.
 */
static int esink(void *arg, const char *group, const char *stream, int64_t ts, const char *esc,
                 size_t esc_len, size_t plain_len)
{
    struct ag_buf q, again;
    ag_buf_init(&q, (size_t)64 << 20);
    ag_buf_init(&again, (size_t)64 << 20);
    json_error_t err;
    json_t *str = NULL;
    if (ag_buf_addc(&q, '"') == 0 && ag_buf_add(&q, esc, esc_len) == 0 &&
        ag_buf_addc(&q, '"') == 0) {
        str = json_loadb(ag_buf_str(&q), q.len, JSON_DECODE_ANY, &err);
    }
    int rc = 0;
    if (!json_is_string(str) || json_string_length(str) != plain_len ||
        ag_json_escape(&again, json_string_value(str), json_string_length(str)) != 0 ||
        again.len != esc_len || memcmp(ag_buf_str(&again), esc, esc_len) != 0) {
        printf("# escaped event does not read back (plain %zu): %.*s\n", plain_len,
               (int)(esc_len < 2000 ? esc_len : 2000), esc);
        E.bad++;
    } else {
        rc = sink(arg, group, stream, ts, json_string_value(str), json_string_length(str));
    }
    json_decref(str);
    ag_buf_cleanup(&q);
    ag_buf_cleanup(&again);
    return rc;
}

static int tr(struct ex_cw_emf *t, const char *json, uint64_t now, struct ex_cw_emf_result *res)
{
    char err[256];
    ProtobufCMessage *msg = NULL;
    struct ag_arena *a = ag_arena_new(0);
    if (a == NULL) {
        return AG_ENOMEM;
    }
    int rc = ag_otlp_json_decode(AG_SIGNAL_METRICS, (const uint8_t *)json, strlen(json), a, &msg,
                                 err, sizeof(err));
    if (rc != 0) {
        printf("# decode: %s\n", err);
    } else {
        rc = use_escaped ? ex_cw_emf_translate_escaped(t, msg, now, esink, NULL, res)
                         : ex_cw_emf_translate(t, msg, now, sink, NULL, res);
    }
    ag_arena_free(a);
    return rc;
}

static struct ex_cw_emf *mk(const struct ex_cw_emf_options *o)
{
    struct ex_cw_emf *t = NULL;
    char err[256];
    if (ex_cw_emf_new(o, 42, &t, err, sizeof(err)) != 0) {
        printf("# ex_cw_emf_new: %s\n", err);
    }
    return t;
}

/* Translates |json| once with a fresh translator of |o|. */
static int once(const struct ex_cw_emf_options *o, const char *json, struct ex_cw_emf_result *res)
{
    struct ex_cw_emf *t = mk(o);
    if (t == NULL) {
        return AG_ENOMEM;
    }
    evs_reset(o->version, o->max_event_bytes);
    int rc = tr(t, json, NOW_NS, res);
    ex_cw_emf_free(t);
    return rc;
}

/* The first event with a root member |key|, or NULL. */
static json_t *ev_with(const char *key)
{
    for (size_t i = 0; i < E.n; i++) {
        if (E.e[i].j != NULL && json_object_get(E.e[i].j, key) != NULL) {
            return E.e[i].j;
        }
    }
    return NULL;
}

static size_t count_with(const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < E.n; i++) {
        n += E.e[i].j != NULL && json_object_get(E.e[i].j, key) != NULL;
    }
    return n;
}

static double num(json_t *ev, const char *key)
{
    json_t *v = json_object_get(ev, key);
    return json_is_number(v) ? json_number_value(v) : -12345.678;
}

static double stat(json_t *ev, const char *key, const char *s)
{
    return num(json_object_get(ev, key), s);
}

static const char *str(json_t *ev, const char *key)
{
    json_t *v = json_object_get(ev, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *directives(json_t *ev, int version)
{
    return version == 1 ? json_object_get(json_object_get(ev, "_aws"), "CloudWatchMetrics")
                        : json_object_get(ev, "CloudWatchMetrics");
}

static int strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The dimension sets of directive |di| as a canonical string: each set sorted and written as
 * [a,b], the sets sorted (emf-cwlogs.md 5: compare as unordered collections of sorted sets).
 */
static const char *dims(json_t *ev, size_t di)
{
    static char out[4096];
    char sets[64][512];
    char *ptrs[64];
    size_t ns = 0;
    json_t *d = json_array_get(directives(ev, E.version), di);
    json_t *arr = json_object_get(d, "Dimensions");
    out[0] = '\0';
    if (arr == NULL) {
        return "(none)";
    }
    for (size_t i = 0; i < json_array_size(arr) && ns < 64; i++) {
        json_t *set = json_array_get(arr, i);
        const char *names[64];
        size_t n = 0;
        for (size_t j = 0; j < json_array_size(set) && n < 64; j++) {
            names[n++] = json_string_value(json_array_get(set, j));
        }
        qsort(names, n, sizeof(names[0]), strcmp_p);
        size_t len = 0;
        len += (size_t)snprintf(sets[ns] + len, sizeof(sets[ns]) - len, "[");
        for (size_t j = 0; j < n && len < sizeof(sets[ns]); j++) {
            len += (size_t)snprintf(sets[ns] + len, sizeof(sets[ns]) - len, "%s%s",
                                    j ? "," : "", names[j]);
        }
        if (len < sizeof(sets[ns])) {
            snprintf(sets[ns] + len, sizeof(sets[ns]) - len, "]");
        }
        ptrs[ns] = sets[ns];
        ns++;
    }
    qsort(ptrs, ns, sizeof(ptrs[0]), strcmp_p);
    size_t len = 0;
    for (size_t i = 0; i < ns && len < sizeof(out); i++) {
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s", ptrs[i]);
    }
    return out;
}

/* The metric definition |name| in any directive of |ev|, or NULL. */
static json_t *mdef(json_t *ev, const char *name)
{
    json_t *ds = directives(ev, E.version);
    for (size_t i = 0; i < json_array_size(ds); i++) {
        json_t *ms = json_object_get(json_array_get(ds, i), "Metrics");
        for (size_t j = 0; j < json_array_size(ms); j++) {
            json_t *m = json_array_get(ms, j);
            if (strcmp(json_string_value(json_object_get(m, "Name")), name) == 0) {
                return m;
            }
        }
    }
    return NULL;
}

#define ASSERT_NEAR(a, b)                                                                   \
    do {                                                                                   \
        double a_ = (a), b_ = (b);                                                         \
        if (!(fabs(a_ - b_) <= 1e-9 * (fabs(b_) > 1 ? fabs(b_) : 1))) {                    \
            AG_TEST_FAIL_("%s == %s: %.17g != %.17g", #a, #b, a_, b_);                      \
        }                                                                                  \
    } while (0)

/* ---- tests ---- */

static void test_gauge_basics(void)
{
    struct ex_cw_emf_options o = {0};
    o.version = 1;
    struct ex_cw_emf_result res;
    const char *j = REQ(RM(S("service.name", "svc") "," S("service.namespace", "shop"),
                           SM("io.lib", GAUGE("latency", "ms",
                                              NDP(S("route", "/a"), 1700000000, D(2.5))))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 1);
    ASSERT_EQ(res.events, 1);
    ASSERT_EQ(res.points, 1);
    json_t *ev = E.e[0].j;
    ASSERT_NEAR(num(ev, "latency"), 2.5);
    ASSERT_STREQ(str(ev, "route"), "/a");
    ASSERT_STREQ(str(ev, "OTelLib"), "io.lib");
    ASSERT_STREQ(str(ev, "Version"), "1");
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(ev, "_aws"), "Timestamp")),
              1700000000000ll);
    ASSERT_EQ(E.e[0].ts, 1700000000000ll);
    json_t *d = json_array_get(directives(ev, 1), 0);
    ASSERT_STREQ(json_string_value(json_object_get(d, "Namespace")), "shop/svc");
    ASSERT_STREQ(E.e[0].group, "/metrics/shop/svc");
    ASSERT(strncmp(E.e[0].stream, "otel-stream-", 12) == 0);
    ASSERT_EQ(strlen(E.e[0].stream), 12 + 36);
    /* Default roll-up with one label and OTelLib: the full set repeats [OTelLib, route] and
     * is dropped; [OTelLib] is the zero set. */
    ASSERT_STREQ(dims(ev, 0), "[OTelLib,route][OTelLib]");
    json_t *m = mdef(ev, "latency");
    ASSERT_NOT_NULL(m);
    ASSERT_STREQ(json_string_value(json_object_get(m, "Unit")), "Milliseconds");
    ASSERT_EQ(json_integer_value(json_object_get(m, "StorageResolution")), 60);
}

static void test_namespace_derivation(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf_result res;
    const char *j = REQ(RM(S("service.name", "only"), SM("", GAUGE("a", "", NDP("", 1, D(1))))),
                        RM(S("service.namespace", "nsonly"),
                           SM("", GAUGE("b", "", NDP("", 1, D(1))))),
                        RM("", SM("", GAUGE("c", "", NDP("", 1, D(1))))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 3);
    const char *want[3][2] = {{"only", "/metrics/only"}, {"nsonly", "/metrics/nsonly"},
                              {"default", "/metrics/default"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *d = json_array_get(directives(E.e[i].j, 1), 0);
        ASSERT_STREQ(json_string_value(json_object_get(d, "Namespace")), want[i][0]);
        ASSERT_STREQ(E.e[i].group, want[i][1]);
        /* No labels and no scope: the only set is the empty full set. */
        ASSERT_STREQ(dims(E.e[i].j, 0), "[]");
    }
    o.namespace_ = "Fixed";
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.n, 1); /* one namespace: the three points share a group */
    ASSERT_STREQ(E.e[0].group, "/metrics/Fixed");
}

static void test_cumulative_to_delta(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf *t = mk(&o);
    struct ex_cw_emf_result res;
    ASSERT_NOT_NULL(t);
    evs_reset(1, 0);
#define CUM(t_, v) REQ(RM(S("service.name", "s"), SM("", SUM("reqs", 2, true, NDP("", t_, D(v))))))
    ASSERT_OK(tr(t, CUM(10, 10), NOW_NS, &res));
    ASSERT_EQ(E.n, 0); /* the first point only sets the baseline */
    ASSERT_EQ(res.baseline, 1);
    ASSERT_OK(tr(t, CUM(20, 15), NOW_NS, &res));
    ASSERT_EQ(E.n, 1);
    ASSERT_NEAR(num(E.e[0].j, "reqs"), 5);
    ASSERT_OK(tr(t, CUM(30, 12), NOW_NS, &res)); /* decrease of a monotonic sum: reset */
    ASSERT_EQ(E.n, 2);
    ASSERT_NEAR(num(E.e[1].j, "reqs"), 12);
    ASSERT_OK(tr(t, CUM(40, 20), NOW_NS, &res));
    ASSERT_NEAR(num(E.e[2].j, "reqs"), 8);
    /* A new start time later than the last point (a restart that already grew past the old
     * value): the raw value is the delta. */
    const char *restart = REQ(RM(S("service.name", "s"),
                                 SM("", SUM("reqs", 2, true, NDPS("", 45, 50, D(30))))));
    ASSERT_OK(tr(t, restart, NOW_NS, &res));
    ASSERT_EQ(E.n, 4);
    ASSERT_NEAR(num(E.e[3].j, "reqs"), 30);
    /* A start time before the last point's time: cannot be split, re-baseline. */
    const char *overlap = REQ(RM(S("service.name", "s"),
                                 SM("", SUM("reqs", 2, true, NDPS("", 48, 60, D(35))))));
    ASSERT_OK(tr(t, overlap, NOW_NS, &res));
    ASSERT_EQ(E.n, 4);
    ASSERT_EQ(res.baseline, 1);
    ASSERT_EQ(E.bad, 0);
    struct ex_cw_delta_stats st;
    ex_cw_emf_delta_stats(t, &st);
    ASSERT_EQ(st.entries, 1);
    ASSERT_EQ(st.resets, 3);
    ex_cw_emf_free(t);
#undef CUM
}

static void test_updown_and_delta_passthrough(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf *t = mk(&o);
    struct ex_cw_emf_result res;
    ASSERT_NOT_NULL(t);
    evs_reset(1, 0);
#define UD(t_, v) REQ(RM(S("service.name", "s"), SM("", SUM("queue", 2, false, NDP("", t_, I(v))), SUM("sent", 1, true, NDP("", t_, I(v))))))
    ASSERT_OK(tr(t, UD(10, 10), NOW_NS, &res));
    ASSERT_EQ(E.n, 1); /* the delta sum is emitted as is; the up-down sum sets its baseline */
    ASSERT_NEAR(num(E.e[0].j, "sent"), 10);
    ASSERT_NULL(json_object_get(E.e[0].j, "queue"));
    ASSERT_OK(tr(t, UD(20, 7), NOW_NS, &res));
    ASSERT_EQ(E.n, 2);
    /* A decrease of an up-down counter is a real decrease, not a reset. */
    ASSERT_NEAR(num(E.e[1].j, "queue"), -3);
    ASSERT_NEAR(num(E.e[1].j, "sent"), 7);
    ASSERT_EQ(E.bad, 0);
    ex_cw_emf_free(t);
#undef UD
}

static void test_retain_initial(void)
{
    struct ex_cw_emf_options o = {.version = 1, .retain_initial_value_of_delta_metric = 1};
    struct ex_cw_emf_result res;
    ASSERT_OK(once(&o, REQ(RM("", SM("", SUM("c", 2, true, NDP("", 5, D(10)))))), &res));
    ASSERT_EQ(E.n, 1);
    ASSERT_NEAR(num(E.e[0].j, "c"), 10);
    ASSERT_EQ(res.baseline, 0);
}

static void test_dropped_points(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf_result res;
    const char *j = REQ(RM("", SM("",
        GAUGE("g", "", NDP("", 1, D("NaN")), NDP("", 1, D("Infinity")), NDP("", 1, D("-Infinity")),
              "{\"timeUnixNano\":\"1000000000\",\"flags\":1,\"asDouble\":3}",
              "{\"timeUnixNano\":\"1000000000\"}", NDP("", 1, D(4))),
        HIST("h", "{\"timeUnixNano\":\"1000000000\",\"count\":\"1\",\"sum\":\"NaN\"}",
             "{\"timeUnixNano\":\"1000000000\",\"count\":\"1\",\"sum\":1,\"max\":\"Infinity\"}"),
        SUMMARY("s", "{\"timeUnixNano\":\"1000000000\",\"count\":\"1\",\"sum\":1,"
                     "\"quantileValues\":[{\"quantile\":0.5,\"value\":\"NaN\"}]}"))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(res.points, 9);
    ASSERT_EQ(res.dropped[EX_CW_EMF_DROP_NAN_INF], 6);
    ASSERT_EQ(res.dropped[EX_CW_EMF_DROP_NO_VALUE], 2);
    ASSERT_EQ(E.n, 1);
    ASSERT_NEAR(num(E.e[0].j, "g"), 4);
}

static void test_histogram_stats(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf_result res;
    const char *j = REQ(RM("", SM("", HIST("lat",
        "{\"timeUnixNano\":\"2000000000\",\"count\":\"7\",\"sum\":35.5,\"min\":1,\"max\":9,"
        "\"bucketCounts\":[\"3\",\"4\"],\"explicitBounds\":[5]}",
        "{\"attributes\":[" S("k", "v") "],\"timeUnixNano\":\"2000000000\",\"count\":\"2\"}"))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 2);
    json_t *a = E.e[0].j, *b = E.e[1].j;
    ASSERT_NEAR(stat(a, "lat", "Count"), 7);
    ASSERT_NEAR(stat(a, "lat", "Sum"), 35.5);
    ASSERT_NEAR(stat(a, "lat", "Min"), 1);
    ASSERT_NEAR(stat(a, "lat", "Max"), 9);
    ASSERT_NULL(json_object_get(json_object_get(a, "lat"), "Values"));
    /* Unset sum, min and max are 0. */
    ASSERT_NEAR(stat(b, "lat", "Count"), 2);
    ASSERT_NEAR(stat(b, "lat", "Sum"), 0);
    ASSERT_NEAR(stat(b, "lat", "Min"), 0);
    ASSERT_NEAR(stat(b, "lat", "Max"), 0);
    /* Histograms are never delta-converted: the same point again gives the same values. */
    ASSERT_EQ(res.baseline, 0);
}

static void test_exponential_histogram(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf_result res;
    /* scale 0: base 2. Positive offset 0 counts [1,2]: (1,2] mid 1.5 and (2,4] mid 3.
     * Zero count 1. Negative offset 0 counts [4, 0, 5]: -(1,2] mid -1.5; index 1 skipped (0);
     * index 2 (4,8] mid -6. */
    const char *j = REQ(RM("", SM("", EXPH("e",
        "{\"timeUnixNano\":\"3000000000\",\"count\":\"13\",\"sum\":7.5,\"min\":-7,\"max\":3.5,"
        "\"scale\":0,\"zeroCount\":\"1\",\"positive\":{\"offset\":0,\"bucketCounts\":[\"1\",\"2\"]},"
        "\"negative\":{\"offset\":0,\"bucketCounts\":[\"4\",\"0\",\"5\"]}}"))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 1);
    json_t *v = json_object_get(E.e[0].j, "e");
    json_t *vals = json_object_get(v, "Values"), *cnts = json_object_get(v, "Counts");
    double wv[] = {3, 1.5, 0, -1.5, -6}, wc[] = {2, 1, 1, 4, 5};
    ASSERT_EQ(json_array_size(vals), 5);
    for (size_t i = 0; i < 5; i++) {
        ASSERT_NEAR(json_number_value(json_array_get(vals, i)), wv[i]);
        ASSERT_NEAR(json_number_value(json_array_get(cnts, i)), wc[i]);
    }
    ASSERT_NEAR(num(v, "Count"), 13);
    ASSERT_NEAR(num(v, "Sum"), 7.5);
    ASSERT_NEAR(num(v, "Max"), 3.5);
    ASSERT_NEAR(num(v, "Min"), -7);

    /* Negative scale -1: base 4; offset 1 -> (4,16] mid 10. Scale 1: base sqrt(2); offset -2
     * -> (2^-1, 2^-0.5] mid (0.5 + 0.70710678118654752)/2. */
    const char *k = REQ(RM("", SM("", EXPH("n",
        "{\"timeUnixNano\":\"3000000000\",\"count\":\"1\",\"sum\":10,\"scale\":-1,"
        "\"positive\":{\"offset\":1,\"bucketCounts\":[\"1\"]}}"),
        EXPH("p", "{\"timeUnixNano\":\"3000000000\",\"count\":\"1\",\"sum\":0.6,\"scale\":1,"
                  "\"positive\":{\"offset\":-2,\"bucketCounts\":[\"1\"]}}"))));
    ASSERT_OK(once(&o, k, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_NEAR(json_number_value(json_array_get(json_object_get(json_object_get(
                    ev_with("n"), "n"), "Values"), 0)), 10);
    ASSERT_NEAR(json_number_value(json_array_get(json_object_get(json_object_get(
                    ev_with("p"), "p"), "Values"), 0)), (0.5 + 0.70710678118654752) / 2);

    /* No buckets: empty arrays with the point's count, sum, min and max. */
    const char *z = REQ(RM("", SM("", EXPH("z",
        "{\"timeUnixNano\":\"3000000000\",\"count\":\"0\",\"sum\":0,\"scale\":3}"))));
    ASSERT_OK(once(&o, z, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 1);
    ASSERT_EQ(json_array_size(json_object_get(json_object_get(E.e[0].j, "z"), "Values")), 0);
}

static void test_exponential_split(void)
{
    /* 250 positive buckets of count 1 (scale 0, offset 0): three events of 100, 100 and 50
     * values; Sum only in the first, the point's Max in the first and Min in the last. */
    static char j[16384];
    size_t len = (size_t)snprintf(j, sizeof(j), "%s",
        "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"big\","
        "\"exponentialHistogram\":{\"aggregationTemporality\":1,\"dataPoints\":[{"
        "\"timeUnixNano\":\"3000000000\",\"count\":\"250\",\"sum\":1000,\"min\":1.5,"
        "\"max\":9e75,\"scale\":0,\"positive\":{\"offset\":0,\"bucketCounts\":[");
    for (int i = 0; i < 250; i++) {
        len += (size_t)snprintf(j + len, sizeof(j) - len, "%s\"1\"", i ? "," : "");
    }
    snprintf(j + len, sizeof(j) - len, "]}}]}}]}]}]}");
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf_result res;
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 3);
    size_t sizes[3] = {100, 100, 50};
    double total = 0;
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(E.e[i].j, "big");
        ASSERT_EQ(json_array_size(json_object_get(v, "Values")), sizes[i]);
        ASSERT_NEAR(num(v, "Count"), (double)sizes[i]);
        ASSERT_NEAR(num(v, "Sum"), i == 0 ? 1000 : 0);
        total += num(v, "Count");
    }
    ASSERT_NEAR(total, 250);
    json_t *first = json_object_get(E.e[0].j, "big"), *last = json_object_get(E.e[2].j, "big");
    ASSERT_NEAR(num(first, "Max"), 9e75);
    ASSERT_NEAR(num(last, "Min"), 1.5);
    /* Descending: the first value of the first chunk is bucket 249, (2^249, 2^250]. */
    ASSERT_NEAR(json_number_value(json_array_get(json_object_get(first, "Values"), 0)),
                (ldexp(1, 249) + ldexp(1, 250)) / 2);
    /* The middle chunk's Max/Min are its own buckets' bounds: 2^150 and 2^50. */
    json_t *mid = json_object_get(E.e[1].j, "big");
    ASSERT_NEAR(num(mid, "Max"), ldexp(1, 150));
    ASSERT_NEAR(num(mid, "Min"), ldexp(1, 50));
}

static void test_summary(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf_result res;
    const char *j = REQ(RM("", SM("", SUMMARY("rt",
        "{\"timeUnixNano\":\"4000000000\",\"count\":\"10\",\"sum\":55,\"quantileValues\":["
        "{\"quantile\":0,\"value\":1},{\"quantile\":0.5,\"value\":5},"
        "{\"quantile\":0.99,\"value\":9.5},{\"quantile\":1,\"value\":10}]}"))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 1);
    ASSERT_NEAR(stat(E.e[0].j, "rt", "Min"), 1);
    ASSERT_NEAR(stat(E.e[0].j, "rt", "Max"), 10);
    ASSERT_NEAR(stat(E.e[0].j, "rt", "Count"), 10);
    ASSERT_NEAR(stat(E.e[0].j, "rt", "Sum"), 55);

    o.detailed_metrics = 1;
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 5); /* _sum and _count together, then one event per quantile */
    json_t *base = ev_with("rt_sum");
    ASSERT_NOT_NULL(base);
    ASSERT_NEAR(num(base, "rt_sum"), 55);
    ASSERT_NEAR(num(base, "rt_count"), 10);
    const char *qs[4] = {"0", "0.5", "0.99", "1"};
    double vs[4] = {1, 5, 9.5, 10};
    for (size_t i = 0; i < 4; i++) {
        int found = 0;
        for (size_t k = 0; k < E.n; k++) {
            const char *q = str(E.e[k].j, "quantile");
            if (q != NULL && strcmp(q, qs[i]) == 0) {
                found = 1;
                ASSERT_NEAR(num(E.e[k].j, "rt"), vs[i]);
                ASSERT_STREQ(dims(E.e[k].j, 0), "[]" "[quantile]");
            }
        }
        ASSERT(found);
    }
}

static void test_prometheus_summary(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf *t = mk(&o);
    struct ex_cw_emf_result res;
    ASSERT_NOT_NULL(t);
    evs_reset(1, 0);
#define PS(t_, c, s) REQ(RM(S("receiver", "prometheus"), SM("", SUMMARY("ps", "{\"timeUnixNano\":\"" #t_ "000000000\",\"count\":\"" #c "\",\"sum\":" #s "}"), GAUGE("pg", "", NDP("", t_, D(1))))))
    ASSERT_OK(tr(t, PS(1, 10, 100), NOW_NS, &res));
    ASSERT_EQ(res.baseline, 1);
    ASSERT_EQ(E.n, 1); /* the gauge */
    ASSERT_STREQ(str(E.e[0].j, "prom_metric_type"), "gauge");
    ASSERT_OK(tr(t, PS(2, 15, 130), NOW_NS, &res));
    ASSERT_EQ(E.bad, 0);
    json_t *ev = ev_with("ps");
    ASSERT_NOT_NULL(ev);
    ASSERT_NEAR(stat(ev, "ps", "Count"), 5);
    ASSERT_NEAR(stat(ev, "ps", "Sum"), 30);
    ASSERT_STREQ(str(ev, "prom_metric_type"), "summary");
    /* A root field, not a dimension. */
    ASSERT_STREQ(dims(ev, 0), "[]");
    ex_cw_emf_free(t);
#undef PS
}

/* Roll-up with 0, 1 and 2 labels, with and without OTelLib, for every option. */
static void test_rollup_options(void)
{
    struct {
        enum ex_cw_emf_rollup ro;
        const char *scope;
        int labels;
        const char *want;
    } cases[] = {
        {EX_CW_EMF_ROLLUP_ZERO_AND_SINGLE, "", 0, "[]"},
        {EX_CW_EMF_ROLLUP_ZERO_AND_SINGLE, "", 1, "[][a]"},
        {EX_CW_EMF_ROLLUP_ZERO_AND_SINGLE, "", 2, "[][a,b][a][b]"},
        {EX_CW_EMF_ROLLUP_ZERO_AND_SINGLE, "L", 0, "[OTelLib]"},
        {EX_CW_EMF_ROLLUP_ZERO_AND_SINGLE, "L", 1, "[OTelLib,a][OTelLib]"},
        {EX_CW_EMF_ROLLUP_ZERO_AND_SINGLE, "L", 2,
         "[OTelLib,a,b][OTelLib,a][OTelLib,b][OTelLib]"},
        {EX_CW_EMF_ROLLUP_SINGLE_ONLY, "", 0, "[]"},
        {EX_CW_EMF_ROLLUP_SINGLE_ONLY, "", 1, "[a]"},
        {EX_CW_EMF_ROLLUP_SINGLE_ONLY, "", 2, "[a,b][a][b]"},
        {EX_CW_EMF_ROLLUP_SINGLE_ONLY, "L", 0, "[OTelLib]"},
        {EX_CW_EMF_ROLLUP_SINGLE_ONLY, "L", 1, "[OTelLib,a]"},
        {EX_CW_EMF_ROLLUP_SINGLE_ONLY, "L", 2, "[OTelLib,a,b][OTelLib,a][OTelLib,b]"},
        {EX_CW_EMF_ROLLUP_NONE, "", 0, "[]"},
        {EX_CW_EMF_ROLLUP_NONE, "", 1, "[a]"},
        {EX_CW_EMF_ROLLUP_NONE, "", 2, "[a,b]"},
        {EX_CW_EMF_ROLLUP_NONE, "L", 0, "[OTelLib]"},
        {EX_CW_EMF_ROLLUP_NONE, "L", 1, "[OTelLib,a]"},
        {EX_CW_EMF_ROLLUP_NONE, "L", 2, "[OTelLib,a,b]"},
    };
    const char *attrs[3] = {"", S("a", "1"), S("a", "1") "," S("b", "2")};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char j[1024];
        snprintf(j, sizeof(j),
                 "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"scope\":{\"name\":\"%s\"},"
                 "\"metrics\":[{\"name\":\"m\",\"gauge\":{\"dataPoints\":[{\"attributes\":[%s],"
                 "\"timeUnixNano\":\"1000000000\",\"asDouble\":1}]}}]}]}]}",
                 cases[i].scope, attrs[cases[i].labels]);
        struct ex_cw_emf_options o = {.version = 1, .rollup = cases[i].ro};
        struct ex_cw_emf_result res;
        ASSERT_OK(once(&o, j, &res));
        ASSERT_EQ(E.bad, 0);
        ASSERT_EQ(E.n, 1);
        const char *got = dims(E.e[0].j, 0);
        if (strcmp(got, cases[i].want) != 0) {
            AG_TEST_FAIL_("case %zu: dims %s, expected %s", i, got, cases[i].want);
        }
    }
}

static void test_declarations(void)
{
    const char *set_svc[] = {"svc"};
    const char *set_svc_route[] = {"route", "svc"};
    const char *set_missing[] = {"svc", "nope"};
    const char *set_big[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
    const char *const *sets[] = {set_svc, set_svc_route, set_missing, set_big};
    size_t set_n[] = {1, 2, 2, 11};
    const char *sel[] = {"^lat", "err"};
    const char *names[] = {"svc", "route"};
    struct ex_cw_emf_matcher_opts m = {.label_names = names, .n_label_names = 2,
                                       .separator = ":", .regex = "^api:/a"};
    struct ex_cw_emf_declaration_opts d = {
        .dimensions = sets, .n_dimensions = set_n, .n_sets = 4,
        .metric_name_selectors = sel, .n_metric_name_selectors = 2,
        .label_matchers = &m, .n_label_matchers = 1};
    struct ex_cw_emf_options o = {.version = 1, .rollup = EX_CW_EMF_ROLLUP_NONE,
                                  .declarations = &d, .n_declarations = 1};
    struct ex_cw_emf_result res;
#define DP(route) NDP(S("svc", "api") "," S("route", route), 1, D(1))
    const char *j = REQ(RM("", SM("", GAUGE("latency", "", DP("/a")), GAUGE("errors", "", DP("/a")),
                                 GAUGE("other", "", DP("/a")), GAUGE("latency", "", DP("/b")))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 2);
    json_t *a = E.e[0].j;
    /* latency and errors match the same declaration: one directive with both; "other" stays a
     * root field without a definition. The 11-name set was dropped at load and the set naming
     * a missing label is not used. */
    ASSERT_EQ(json_array_size(directives(a, 1)), 1);
    ASSERT_STREQ(dims(a, 0), "[route,svc][svc]");
    ASSERT_NOT_NULL(mdef(a, "latency"));
    ASSERT_NOT_NULL(mdef(a, "errors"));
    ASSERT_NULL(mdef(a, "other"));
    ASSERT_NEAR(num(a, "other"), 1);
    /* route /b: the label matcher does not match: no directive, values kept. */
    json_t *b = E.e[1].j;
    ASSERT_STREQ(str(b, "route"), "/b");
    ASSERT_NULL(json_object_get(b, "_aws"));
    ASSERT_NULL(json_object_get(b, "Version"));
    ASSERT_NEAR(num(b, "latency"), 1);

    /* With the default roll-up, roll-up sets are added and de-duplicated. */
    o.rollup = EX_CW_EMF_ROLLUP_ZERO_AND_SINGLE;
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_STREQ(dims(E.e[0].j, 0), "[][route,svc][route][svc]");
#undef DP
}

static void test_declarations_two_directives(void)
{
    const char *s1[] = {"a"};
    const char *s2[] = {"b"};
    const char *const *sa[] = {s1};
    const char *const *sb[] = {s2};
    size_t one = 1;
    const char *sel_x[] = {"x"};
    const char *sel_y[] = {"^y$"};
    struct ex_cw_emf_declaration_opts d[2] = {
        {.dimensions = sa, .n_dimensions = &one, .n_sets = 1, .metric_name_selectors = sel_x,
         .n_metric_name_selectors = 1},
        {.dimensions = sb, .n_dimensions = &one, .n_sets = 1, .metric_name_selectors = sel_y,
         .n_metric_name_selectors = 1},
    };
    struct ex_cw_emf_options o = {.version = 1, .rollup = EX_CW_EMF_ROLLUP_NONE,
                                  .declarations = d, .n_declarations = 2};
    struct ex_cw_emf_result res;
#define DP NDP(S("a", "1") "," S("b", "2"), 1, D(1))
    const char *j = REQ(RM("", SM("", GAUGE("x1", "", DP), GAUGE("y", "", DP),
                                 GAUGE("yy", "", DP))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 1);
    json_t *ds = directives(E.e[0].j, 1);
    ASSERT_EQ(json_array_size(ds), 2);
    ASSERT_STREQ(dims(E.e[0].j, 0), "[a]");
    ASSERT_STREQ(dims(E.e[0].j, 1), "[b]");
    ASSERT_NULL(mdef(E.e[0].j, "yy")); /* the anchored selector does not match "yy" */
#undef DP
    /* A bad regex is a construction error. */
    const char *bad[] = {"("};
    d[0].metric_name_selectors = bad;
    struct ex_cw_emf *t = NULL;
    char err[256];
    ASSERT_EQ(ex_cw_emf_new(&o, 1, &t, err, sizeof(err)), AG_EINVAL);
    ASSERT_NULL(t);
    ASSERT_STRCONTAINS(err, "invalid regex");
}

static void test_storage_resolution(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf_result res;
    const char *j = REQ(RM("", SM("",
        GAUGE("fast", "", NDP(S("aws.emf.storage_resolution", "1") "," S("k", "v"), 1, D(1))),
        GAUGE("slow", "", NDP(S("k", "v"), 1, D(2))),
        GAUGE("odd", "", NDP(S("aws.emf.storage_resolution", "5") "," S("k", "v"), 1, D(3))))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 1); /* the label is removed before grouping */
    json_t *ev = E.e[0].j;
    ASSERT_NULL(json_object_get(ev, "aws.emf.storage_resolution"));
    ASSERT_EQ(json_integer_value(json_object_get(mdef(ev, "fast"), "StorageResolution")), 1);
    ASSERT_EQ(json_integer_value(json_object_get(mdef(ev, "slow"), "StorageResolution")), 60);
    ASSERT_EQ(json_integer_value(json_object_get(mdef(ev, "odd"), "StorageResolution")), 60);
    ASSERT_STREQ(dims(ev, 0), "[][k]");
}

static void test_version0(void)
{
    struct ex_cw_emf_options o = {.version = 0};
    struct ex_cw_emf_result res;
    const char *j = REQ(RM("", SM("", GAUGE("g", "s", NDP(S("k", "v"), 1700000001, D(1))))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 1);
    json_t *ev = E.e[0].j;
    ASSERT_STREQ(str(ev, "Version"), "0");
    ASSERT_STREQ(str(ev, "Timestamp"), "1700000001000");
    ASSERT_NULL(json_object_get(ev, "_aws"));
    ASSERT_STREQ(dims(ev, 0), "[][k]");
    ASSERT_STREQ(json_string_value(json_object_get(mdef(ev, "g"), "Unit")), "Seconds");
    /* No directive (an unmatched declaration): Version and Timestamp stay, no CloudWatchMetrics. */
    const char *sel[] = {"nothing"};
    struct ex_cw_emf_declaration_opts d = {.metric_name_selectors = sel,
                                           .n_metric_name_selectors = 1};
    o.declarations = &d;
    o.n_declarations = 1;
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_STREQ(str(E.e[0].j, "Version"), "0");
    ASSERT_NULL(json_object_get(E.e[0].j, "CloudWatchMetrics"));
    o.version = 2;
    struct ex_cw_emf *t = NULL;
    ASSERT_EQ(ex_cw_emf_new(&o, 1, &t, NULL, 0), AG_EINVAL);
}

static void test_json_attrs(void)
{
    const char *names[] = {"obj", "notjson"};
    struct ex_cw_emf_options o = {.version = 1, .parse_json_encoded_attr_values = names,
                                  .n_parse_json_encoded_attr_values = 2};
    struct ex_cw_emf_result res;
    const char *j = REQ(RM("", SM("", GAUGE("g", "", NDP(
        "{\"key\":\"obj\",\"value\":{\"stringValue\":\"{\\\"a\\\": [1, 2]}\"}},"
        S("notjson", "{x") "," S("plain", "{\\\"b\\\":1}"), 1, D(1))))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    json_t *ev = E.e[0].j;
    json_t *obj = json_object_get(ev, "obj");
    ASSERT(json_is_object(obj));
    ASSERT_EQ(json_array_size(json_object_get(obj, "a")), 2);
    ASSERT_STREQ(str(ev, "notjson"), "{x");
    ASSERT_STREQ(str(ev, "plain"), "{\"b\":1}"); /* not listed: unchanged */
    /* A parsed (non-string) field cannot be a dimension: sets naming it are left out. */
    ASSERT_STREQ(dims(ev, 0), "[][notjson][plain]");
    ASSERT(res.dimension_sets_dropped > 0);
}

static void test_separate_types(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf_result res;
    const char *j = REQ(RM("", SM("", GAUGE("g", "", NDP(S("k", "v"), 1, D(1))),
                                 SUM("s", 1, true, NDP(S("k", "v"), 1, D(2))),
                                 GAUGE("g2", "", NDP(S("k", "v"), 1, D(3))),
                                 GAUGE("g", "", NDP(S("k", "v"), 1, D(4))),
                                 GAUGE("g3", "", NDP(S("k", "v"), 2, D(5))))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    /* gauge {g, g2} at t=1, sum {s} at t=1, gauge {g3} at t=2; the second g is a duplicate. */
    ASSERT_EQ(E.n, 3);
    ASSERT_NEAR(num(E.e[0].j, "g"), 1);
    ASSERT_NEAR(num(E.e[0].j, "g2"), 3);
    ASSERT_NULL(json_object_get(E.e[0].j, "s"));
    ASSERT_NEAR(num(E.e[1].j, "s"), 2);
    ASSERT_EQ(E.e[2].ts, 2000);
    ASSERT_EQ(res.dropped[EX_CW_EMF_DROP_DUPLICATE], 1);
}

static void test_metric_limit_split(void)
{
    /* 250 gauges with the same labels: events of 100, 100 and 50 metrics. */
    static char j[65536];
    size_t len = (size_t)snprintf(j, sizeof(j), "%s",
                                  "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[");
    for (int i = 0; i < 250; i++) {
        len += (size_t)snprintf(j + len, sizeof(j) - len,
                                "%s{\"name\":\"m%d\",\"gauge\":{\"dataPoints\":[{\"attributes\":"
                                "[" S("k", "v") "],\"timeUnixNano\":\"1000000000\","
                                "\"asInt\":\"%d\"}]}}", i ? "," : "", i, i);
    }
    snprintf(j + len, sizeof(j) - len, "]}]}]}");
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf_result res;
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 3);
    size_t want[3] = {100, 100, 50};
    for (size_t i = 0; i < 3; i++) {
        json_t *ms = json_object_get(json_array_get(directives(E.e[i].j, 1), 0), "Metrics");
        ASSERT_EQ(json_array_size(ms), want[i]);
    }
    ASSERT_NEAR(num(E.e[2].j, "m249"), 249);
}

static void test_dimension_limit(void)
{
    /* 31 labels: the full set (31 keys) cannot be sent; the roll-up sets can. */
    static char attrs[4096];
    size_t len = 0;
    for (int i = 0; i < 31; i++) {
        len += (size_t)snprintf(attrs + len, sizeof(attrs) - len,
                                "%s{\"key\":\"l%02d\",\"value\":{\"stringValue\":\"v\"}}",
                                i ? "," : "", i);
    }
    char j[8192];
    snprintf(j, sizeof(j),
             "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"m\",\"gauge\":"
             "{\"dataPoints\":[{\"attributes\":[%s],\"timeUnixNano\":\"1000000000\","
             "\"asDouble\":1}]}}]}]}]}", attrs);
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf_result res;
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(res.dimension_sets_dropped, 1);
    json_t *set = json_object_get(json_array_get(directives(E.e[0].j, 1), 0), "Dimensions");
    ASSERT_EQ(json_array_size(set), 32); /* 31 single sets and the zero set */
    o.rollup = EX_CW_EMF_ROLLUP_NONE;
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 1);
    ASSERT_NULL(json_object_get(E.e[0].j, "_aws")); /* nothing valid left: values only */
    ASSERT_NEAR(num(E.e[0].j, "m"), 1);
}

static void test_event_size_split(void)
{
    /* Three metrics with labels of ~100 bytes each under a 700-byte limit. */
    struct ex_cw_emf_options o = {.version = 1, .max_event_bytes = 500};
    struct ex_cw_emf_result res;
#define LONGV "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
    const char *j = REQ(RM("", SM("", GAUGE("metric_number_one_with_a_long_name", "",
                                            NDP(S("k", LONGV), 1, D(1))),
                                 GAUGE("metric_number_two_with_a_long_name", "",
                                       NDP(S("k", LONGV), 1, D(2))),
                                 GAUGE("metric_number_three_with_a_long_name", "",
                                       NDP(S("k", LONGV), 1, D(3))))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT(E.n >= 2);
    ASSERT_EQ(count_with("metric_number_one_with_a_long_name"), 1);
    ASSERT_EQ(count_with("metric_number_two_with_a_long_name"), 1);
    ASSERT_EQ(count_with("metric_number_three_with_a_long_name"), 1);
    /* A limit no single metric fits in: dropped and counted. */
    o.max_event_bytes = 100;
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.n, 0);
    ASSERT_EQ(res.dropped[EX_CW_EMF_DROP_TOO_BIG], 3);
#undef LONGV
}

static void test_placeholders(void)
{
    struct ex_cw_emf_options o = {.version = 1,
                                  .log_group_name = "/aws/{ClusterName}/{TaskId}/{Unknown}",
                                  .log_stream_name = "{NodeName}-{PodName}"};
    struct ex_cw_emf_result res;
    /* ClusterName: the literal key wins over aws.ecs.cluster.name; TaskId is missing; the
     * stream's NodeName comes from k8s.node.name and PodName is empty at the resource and then
     * found among the labels in the second pass. */
    const char *j = REQ(RM(S("ClusterName", "lit") "," S("aws.ecs.cluster.name", "attr") ","
                           S("k8s.node.name", "node1") "," S("pod", ""),
                           SM("", GAUGE("g", "", NDP(S("PodName", "p1"), 1, D(1))))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(E.n, 1);
    ASSERT_STREQ(E.e[0].group, "/aws/lit/undefined/{Unknown}");
    ASSERT_STREQ(E.e[0].stream, "node1-p1");
    /* The second pass takes labels first, then the resource again (so "lit" stays). */
    o.log_group_name = "/aws/{ServiceName}";
    ASSERT_OK(once(&o, REQ(RM("", SM("", GAUGE("g", "", NDP(S("service.name", "fromlabel"), 1,
                                                             D(1)))))), &res));
    ASSERT_STREQ(E.e[0].group, "/aws/fromlabel");
}

static void test_units(void)
{
    struct ex_cw_emf_descriptor_opts descs[] = {
        {.metric_name = "a", .unit = "Count"},
        {.metric_name = "b", .unit = "Bytes"},
        {.metric_name = "c", .unit = "Percent", .overwrite = 1},
    };
    struct ex_cw_emf_options o = {.version = 1, .descriptors = descs, .n_descriptors = 3};
    struct ex_cw_emf_result res;
    const char *j = REQ(RM("", SM("", GAUGE("a", "", NDP("", 1, D(1))),
                                 GAUGE("b", "ms", NDP("", 1, D(1))),
                                 GAUGE("c", "ms", NDP("", 1, D(1))),
                                 GAUGE("d", "By", NDP("", 1, D(1))),
                                 GAUGE("e", "us", NDP("", 1, D(1))),
                                 GAUGE("f", "{req}", NDP("", 1, D(1))),
                                 GAUGE("g", "Bi", NDP("", 1, D(1))),
                                 GAUGE("h", "", NDP("", 1, D(1))))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    json_t *ev = E.e[0].j;
    const char *want[][2] = {{"a", "Count"},        {"b", "Milliseconds"}, {"c", "Percent"},
                             {"d", "Bytes"},        {"e", "Microseconds"}, {"f", "{req}"},
                             {"g", "Bits"}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ASSERT_STREQ(json_string_value(json_object_get(mdef(ev, want[i][0]), "Unit")),
                     want[i][1]);
    }
    ASSERT_NULL(json_object_get(mdef(ev, "h"), "Unit"));
    o.omit_invalid_units = 1;
    ASSERT_OK(once(&o, j, &res));
    ASSERT_NULL(json_object_get(mdef(E.e[0].j, "f"), "Unit"));
    ASSERT(emf_unit_in_enum("Milliseconds"));
    ASSERT_STREQ(ex_cw_emf_unit("ms"), "Milliseconds");
    ASSERT_STREQ(ex_cw_emf_unit("1"), "1");
    ASSERT(!ex_cw_emf_unit_valid("1"));
}

static void test_resource_to_telemetry(void)
{
    struct ex_cw_emf_options o = {.version = 1, .resource_to_telemetry_conversion = 1,
                                  .rollup = EX_CW_EMF_ROLLUP_NONE};
    struct ex_cw_emf_result res;
    const char *j = REQ(RM(S("host", "h1") "," S("k", "fromres"),
                           SM("", GAUGE("g", "", NDP(S("k", "frompoint"), 1, D(1))))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_STREQ(str(E.e[0].j, "host"), "h1");
    ASSERT_STREQ(str(E.e[0].j, "k"), "fromres"); /* the resource's copy wins, as upstream */
    ASSERT_STREQ(dims(E.e[0].j, 0), "[host,k]");
}

static void test_label_rendering(void)
{
    struct ex_cw_emf_options o = {.version = 1, .rollup = EX_CW_EMF_ROLLUP_NONE};
    struct ex_cw_emf_result res;
    const char *j = REQ(RM("", SM("", GAUGE("g", "", NDP(
        "{\"key\":\"i\",\"value\":{\"intValue\":\"-42\"}},"
        "{\"key\":\"b\",\"value\":{\"boolValue\":true}},"
        "{\"key\":\"d\",\"value\":{\"doubleValue\":0.25}},"
        "{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":\"1\"}]}}},"
        "{\"key\":\"Version\",\"value\":{\"stringValue\":\"x\"}}", 1, D(1))))));
    ASSERT_OK(once(&o, j, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_STREQ(str(E.e[0].j, "i"), "-42");
    ASSERT_STREQ(str(E.e[0].j, "b"), "true");
    ASSERT_STREQ(str(E.e[0].j, "d"), "0.25");
    ASSERT_STREQ(str(E.e[0].j, "arr"), "[1]");
    ASSERT_STREQ(str(E.e[0].j, "Version"), "1"); /* ours, not the label */
    ASSERT_EQ(res.labels_dropped, 1);
    /* A metric named like a label would give a duplicate key: the metric is dropped. */
    const char *k = REQ(RM("", SM("", GAUGE("k", "", NDP(S("k", "v"), 1, D(1))),
                                 GAUGE("_aws", "", NDP(S("x", "v"), 1, D(1))))));
    ASSERT_OK(once(&o, k, &res));
    ASSERT_EQ(E.bad, 0);
    ASSERT_EQ(res.dropped[EX_CW_EMF_DROP_BAD_NAME], 2);
}

static void test_timestamp_now(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf_result res;
    ASSERT_OK(once(&o, REQ(RM("", SM("", GAUGE("g", "", "{\"asDouble\":1}")))), &res));
    ASSERT_EQ(E.n, 1);
    ASSERT_EQ(E.e[0].ts, (int64_t)(NOW_NS / 1000000u));
}

static void test_not_metrics(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf *t = mk(&o);
    struct ex_cw_emf_result res;
    ASSERT_NOT_NULL(t);
    ASSERT_EQ(ex_cw_emf_translate(t, NULL, NOW_NS, sink, NULL, &res), AG_EINVAL);
    ex_cw_emf_free(t);
}

static int fail_sink(void *arg, const char *g, const char *s, int64_t ts, const char *m, size_t l)
{
    (void)arg, (void)g, (void)s, (void)ts, (void)m, (void)l;
    return AG_EAGAIN;
}

static void test_sink_error(void)
{
    struct ex_cw_emf_options o = {.version = 1};
    struct ex_cw_emf *t = mk(&o);
    struct ex_cw_emf_result res;
    char err[256];
    ProtobufCMessage *msg = NULL;
    struct ag_arena *a = ag_arena_new(0);
    const char *j = REQ(RM("", SM("", GAUGE("g", "", NDP("", 1, D(1))))));
    ASSERT_OK(ag_otlp_json_decode(AG_SIGNAL_METRICS, (const uint8_t *)j, strlen(j), a, &msg, err,
                                  sizeof(err)));
    ASSERT_EQ(ex_cw_emf_translate(t, msg, NOW_NS, fail_sink, NULL, &res), AG_EAGAIN);
    ag_arena_free(a);
    ex_cw_emf_free(t);
}

static void test_failmalloc(void)
{
#if AG_FAILMALLOC
    const char *set[] = {"svc"};
    const char *const *sets[] = {set};
    size_t set_n = 1;
    const char *sel[] = {"."};
    const char *names[] = {"svc"};
    struct ex_cw_emf_matcher_opts m = {.label_names = names, .n_label_names = 1, .regex = "a"};
    struct ex_cw_emf_declaration_opts d = {.dimensions = sets, .n_dimensions = &set_n,
                                           .n_sets = 1, .metric_name_selectors = sel,
                                           .n_metric_name_selectors = 1, .label_matchers = &m,
                                           .n_label_matchers = 1};
    const char *jattrs[] = {"j"};
    struct ex_cw_emf_descriptor_opts desc = {.metric_name = "g", .unit = "Count"};
    struct ex_cw_emf_options o = {.version = 1, .declarations = &d, .n_declarations = 1,
                                  .parse_json_encoded_attr_values = jattrs,
                                  .n_parse_json_encoded_attr_values = 1, .descriptors = &desc,
                                  .n_descriptors = 1, .detailed_metrics = 1,
                                  .log_group_name = "/g/{PodName}"};
    const char *j = REQ(RM(S("service.name", "s") "," S("receiver", "prometheus"),
        SM("lib", GAUGE("g", "", NDP(S("svc", "api") "," S("j", "[1]"), 1, D(1))),
           SUM("c", 2, true, NDP(S("svc", "api"), 1, D(1))),
           EXPH("e", "{\"timeUnixNano\":\"3000000000\",\"count\":\"3\",\"sum\":1,\"scale\":0,"
                     "\"zeroCount\":\"1\",\"positive\":{\"bucketCounts\":[\"2\"]}}"),
           SUMMARY("s", "{\"timeUnixNano\":\"1000000000\",\"count\":\"1\",\"sum\":1,"
                        "\"quantileValues\":[{\"quantile\":0.5,\"value\":1}]}"))));
    char err[256];
    ProtobufCMessage *msg = NULL;
    struct ag_arena *a = ag_arena_new(0);
    ASSERT_NOT_NULL(a);
    ASSERT_OK(ag_otlp_json_decode(AG_SIGNAL_METRICS, (const uint8_t *)j, strlen(j), a, &msg, err,
                                  sizeof(err)));
    int done = 0, rc = 0;
    for (long n = 0; n < 100000 && !done; n++) {
        struct ex_cw_emf *t = NULL;
        struct ex_cw_emf_result res;
        evs_reset(1, 0);
        ag_mem_fail_after(n);
        rc = ex_cw_emf_new(&o, 1, &t, err, sizeof(err));
        if (rc == 0) {
            rc = ex_cw_emf_translate(t, msg, NOW_NS, sink, NULL, &res);
            if (rc == 0) {
                rc = ex_cw_emf_translate(t, msg, NOW_NS + 1000000000, sink, NULL, &res);
            }
        }
        ag_mem_fail_after(-1);
        ex_cw_emf_free(t);
        if (rc == 0) {
            done = 1;
        } else if (rc != AG_ENOMEM) {
            printf("# allocation %ld: rc %d\n", n, rc);
            break;
        }
    }
    ag_arena_free(a);
    ASSERT_OK(rc);
    ASSERT(done);
    ASSERT_EQ(E.bad, 0);
    evs_reset(1, 0);
#endif
}

/*
 * The escaped form gives the same events, split at the same plain sizes: the tests above again,
 * each event read back by esink().
 */
static void test_escaped_form(void)
{
    use_escaped = true;
    test_gauge_basics();
    test_cumulative_to_delta();
    test_histogram_stats();
    test_exponential_split();
    test_summary();
    test_rollup_options();
    test_declarations();
    test_version0();
    test_json_attrs();
    test_metric_limit_split();
    test_dimension_limit();
    test_event_size_split();
    test_placeholders();
    test_label_rendering();
    use_escaped = false;
}

static void test_cleanup(void)
{
    evs_reset(1, 0);
}

AG_TEST_MAIN(AG_TEST_CASE(test_gauge_basics), AG_TEST_CASE(test_namespace_derivation),
             AG_TEST_CASE(test_cumulative_to_delta),
             AG_TEST_CASE(test_updown_and_delta_passthrough), AG_TEST_CASE(test_retain_initial),
             AG_TEST_CASE(test_dropped_points), AG_TEST_CASE(test_histogram_stats),
             AG_TEST_CASE(test_exponential_histogram), AG_TEST_CASE(test_exponential_split),
             AG_TEST_CASE(test_summary), AG_TEST_CASE(test_prometheus_summary),
             AG_TEST_CASE(test_rollup_options), AG_TEST_CASE(test_declarations),
             AG_TEST_CASE(test_declarations_two_directives),
             AG_TEST_CASE(test_storage_resolution), AG_TEST_CASE(test_version0),
             AG_TEST_CASE(test_json_attrs), AG_TEST_CASE(test_separate_types),
             AG_TEST_CASE(test_metric_limit_split), AG_TEST_CASE(test_dimension_limit),
             AG_TEST_CASE(test_event_size_split), AG_TEST_CASE(test_placeholders),
             AG_TEST_CASE(test_units), AG_TEST_CASE(test_resource_to_telemetry),
             AG_TEST_CASE(test_label_rendering), AG_TEST_CASE(test_timestamp_now),
             AG_TEST_CASE(test_not_metrics), AG_TEST_CASE(test_sink_error),
             AG_TEST_CASE(test_failmalloc), AG_TEST_CASE(test_escaped_form),
             AG_TEST_CASE(test_cleanup))
