/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OTLP metrics -> CloudWatch EMF events (emf-cwlogs.md 1-8), the pure half of the awsemf
 * exporter and of `otterd translate --to emf`. A translation collects data points into groups
 * (labels, namespace, timestamp, log group, log stream, metric type, split index) in a per-call
 * arena, then renders each group as one or more events, splitting at CloudWatch's limits.
 */
#include "ex_cw_emf.h"
#include "ag_arena.h"
#include "ag_buf.h"
#include "ag_json.h"
#include "ag_mem.h"
#include "ag_time.h"

#include <float.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Metrics__V1__Metric pb_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pb_num;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pb_hist;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint pb_exp;
typedef Opentelemetry__Proto__Metrics__V1__ExponentialHistogramDataPoint__Buckets pb_buckets;
typedef Opentelemetry__Proto__Metrics__V1__SummaryDataPoint pb_sum;

#define V_STR    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define V_BOOL   OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE
#define V_INT    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define V_DOUBLE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE
#define V_ARRAY  OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE
#define V_KVLIST OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE
#define V_BYTES  OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE

#define FLAG_NO_RECORDED_VALUE 1u
#define CUMULATIVE \
    OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE
#define OTELLIB        "OTelLib"
#define STORAGE_LABEL  "aws.emf.storage_resolution"
#define ANY_JSON_DEPTH 64

/* ---- configuration, compiled ---- */

struct matcher {
    char **names;
    size_t n_names;
    char *sep;
    regex_t re;
    bool re_ok;
};

struct decl {
    regex_t *sel;
    size_t n_sel;
    struct matcher *m;
    size_t n_m;
    char ***sets; /* sorted, de-duplicated, each <= 10 names */
    size_t *set_n;
    size_t n_sets;
};

struct descriptor {
    char *name;
    char *unit;
    bool overwrite;
};

struct ex_cw_emf {
    struct ag_arena *cfg; /* every copied string and array */
    char *ns, *lg, *ls;   /* NULL when not configured */
    enum ex_cw_emf_rollup rollup;
    struct decl *decls;
    size_t n_decls;
    struct descriptor *descs;
    size_t n_descs;
    char **json_attrs;
    size_t n_json_attrs;
    bool detailed, retain, r2t, omit_bad_units;
    int version;
    size_t max_event;
    struct ex_cw_delta *delta;
    char stream[64];
};

/* ---- translation state ---- */

enum mtype { T_GAUGE = 1, T_SUM, T_HIST, T_EXP, T_SUMMARY };

struct label {
    const char *k, *v;
    size_t kl, vl;
    bool raw_json; /* v is JSON text (parse_json_encoded_attr_values): a field, never a dim */
};

enum vkind { VK_NUM, VK_STATS, VK_HIST };

struct mval {
    struct mval *next;
    const char *name;
    uint64_t name_hash; /* for the duplicate check */
    const char *unit;   /* NULL = none */
    int sres;           /* 60 or 1 */
    enum vkind kind;
    double v;
    double count, sum, min, max;
    double *values, *counts;
    size_t n;
};

struct group {
    struct group *hnext, *next;
    uint64_t hash;
    const unsigned char *key;
    size_t klen;
    struct label *labels; /* sorted by key, unique */
    size_t n_labels;
    const char *ns, *lg, *ls;
    int64_t ts;
    const char *prom_type; /* NULL unless the resource came from the Prometheus receiver */
    struct mval *head, *tail;
    size_t n;
};

struct run {
    struct ex_cw_emf *t;
    struct ag_arena *a;
    uint64_t now_ns;
    struct ex_cw_emf_result *res;
    struct group **tab;
    size_t nb, ng;
    struct group *first, *last;
    struct ag_buf out;
    bool escaped;              /* |out| holds the event escaped (ex_cw_emf_translate_escaped()) */
    size_t out_plain;          /* then the plain length of the event in |out| */
    ex_cw_emf_sink_fn *sink;   /* the plain events' sink, or NULL */
    ex_cw_emf_esink_fn *esink; /* the escaped events' sink, or NULL */
    struct ag_buf kb;          /* series and group keys, reused for every point */
    struct ag_buf side;        /* an event's directives, reused for every event */
    int err;
};

/* Per resource. */
struct rctx {
    const pb_kv *const *rattrs;
    size_t n_rattrs;
    const char *ns;
    const char *lg, *ls; /* after the resource pass */
    bool lg_failed, ls_failed;
    bool prom;
    const char *scope; /* OTelLib, NULL when empty */
};

/* Per data point: the labels and where the point goes. */
struct pctx {
    struct label *labels;
    size_t n;
    size_t key_len; /* the bytes the labels take in a key (put_labels()) */
    int sres;
    const char *lg, *ls;
    int64_t ts;
};

/* A word-at-a-time multiplicative hash: keys are a few hundred bytes, hashed twice per point. */
static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    uint64_t w;
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

#define HASH_SEED 1469598103934665603ull

/* ---- units ---- */

static const char *const cw_units[] = {
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
};

const char *ex_cw_emf_unit(const char *unit)
{
    static const char *const map[][2] = {
        {"ms", "Milliseconds"}, {"s", "Seconds"}, {"us", "Microseconds"},
        {"By", "Bytes"},        {"Bi", "Bits"},
    };
    if (unit == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(unit, map[i][0]) == 0) {
            return map[i][1];
        }
    }
    return unit;
}

int ex_cw_emf_unit_valid(const char *unit)
{
    for (size_t i = 0; unit != NULL && i < sizeof(cw_units) / sizeof(cw_units[0]); i++) {
        if (strcmp(unit, cw_units[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *ex_cw_emf_drop_name(enum ex_cw_emf_drop reason)
{
    static const char *const names[EX_CW_EMF_DROP_COUNT_] = {
        "no_value", "nan_inf", "bad_name", "duplicate", "too_big", "delta_oom",
    };
    return (unsigned)reason < EX_CW_EMF_DROP_COUNT_ ? names[reason] : "unknown";
}

/* ---- translator construction ---- */

static char *cdup(struct ex_cw_emf *t, const char *s)
{
    return ag_arena_strndup(t->cfg, s, strlen(s));
}

static int compile(regex_t *re, const char *pattern, char *err, size_t errlen)
{
    int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc == REG_ESPACE) {
        return AG_ENOMEM;
    }
    if (rc != 0) {
        char msg[128];
        regerror(rc, re, msg, sizeof(msg));
        snprintf(err, errlen, "invalid regex \"%s\": %s", pattern, msg);
        return AG_EINVAL;
    }
    return 0;
}

static int strptr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool same_set(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb) {
        return false;
    }
    for (size_t i = 0; i < na; i++) {
        if (strcmp(a[i], b[i]) != 0) {
            return false;
        }
    }
    return true;
}

static int build_decl(struct ex_cw_emf *t, const struct ex_cw_emf_declaration_opts *o,
                      struct decl *d, char *err, size_t errlen)
{
    int rc;
    d->sel = ag_arena_calloc(t->cfg, (o->n_metric_name_selectors + 1) * sizeof(regex_t));
    d->m = ag_arena_calloc(t->cfg, (o->n_label_matchers + 1) * sizeof(*d->m));
    d->sets = ag_arena_calloc(t->cfg, (o->n_sets + 1) * sizeof(char **));
    d->set_n = ag_arena_calloc(t->cfg, (o->n_sets + 1) * sizeof(size_t));
    if (d->sel == NULL || d->m == NULL || d->sets == NULL || d->set_n == NULL) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < o->n_metric_name_selectors; i++) {
        rc = compile(&d->sel[i], o->metric_name_selectors[i], err, errlen);
        if (rc != 0) {
            return rc;
        }
        d->n_sel++;
    }
    for (size_t i = 0; i < o->n_label_matchers; i++) {
        const struct ex_cw_emf_matcher_opts *mo = &o->label_matchers[i];
        struct matcher *m = &d->m[i];
        if (mo->n_label_names == 0 || mo->regex == NULL) {
            snprintf(err, errlen, "label_matchers: label_names and regex are required");
            return AG_EINVAL;
        }
        m->names = ag_arena_calloc(t->cfg, mo->n_label_names * sizeof(char *));
        m->sep = cdup(t, mo->separator != NULL ? mo->separator : ";");
        if (m->names == NULL || m->sep == NULL) {
            return AG_ENOMEM;
        }
        for (size_t j = 0; j < mo->n_label_names; j++) {
            if ((m->names[j] = cdup(t, mo->label_names[j])) == NULL) {
                return AG_ENOMEM;
            }
        }
        m->n_names = mo->n_label_names;
        rc = compile(&m->re, mo->regex, err, errlen);
        if (rc != 0) {
            return rc;
        }
        m->re_ok = true;
        d->n_m++;
    }
    for (size_t i = 0; i < o->n_sets; i++) {
        size_t n = o->n_dimensions[i];
        /* Upstream drops declared sets of more than 10 names when the config is loaded. */
        if (n > EX_CW_EMF_MAX_DECL_DIMS || n == 0) {
            continue;
        }
        char **set = ag_arena_calloc(t->cfg, n * sizeof(char *));
        if (set == NULL) {
            return AG_ENOMEM;
        }
        size_t k = 0;
        for (size_t j = 0; j < n; j++) {
            bool dup = false;
            for (size_t m = 0; m < k; m++) {
                dup = dup || strcmp(set[m], o->dimensions[i][j]) == 0;
            }
            if (!dup && (set[k++] = cdup(t, o->dimensions[i][j])) == NULL) {
                return AG_ENOMEM;
            }
        }
        qsort(set, k, sizeof(char *), strptr_cmp);
        bool seen = false;
        for (size_t j = 0; j < d->n_sets && !seen; j++) {
            seen = same_set(d->sets[j], d->set_n[j], set, k);
        }
        if (!seen) {
            d->sets[d->n_sets] = set;
            d->set_n[d->n_sets++] = k;
        }
    }
    return 0;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int ex_cw_emf_new(const struct ex_cw_emf_options *o, uint64_t random, struct ex_cw_emf **out,
                  char *err, size_t errlen)
{
    int rc = AG_ENOMEM;
    *out = NULL;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    char scratch[8];
    if (err == NULL) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    if (o->version != 0 && o->version != 1) {
        snprintf(err, errlen, "version must be \"0\" or \"1\"");
        return AG_EINVAL;
    }
    struct ex_cw_emf *t = ag_calloc(1, sizeof(*t));
    if (t == NULL) {
        return AG_ENOMEM;
    }
    t->cfg = ag_arena_new(0);
    if (t->cfg == NULL) {
        goto out;
    }
    if ((o->namespace_ != NULL && o->namespace_[0] != '\0' &&
         (t->ns = cdup(t, o->namespace_)) == NULL) ||
        (o->log_group_name != NULL && o->log_group_name[0] != '\0' &&
         (t->lg = cdup(t, o->log_group_name)) == NULL) ||
        (o->log_stream_name != NULL && o->log_stream_name[0] != '\0' &&
         (t->ls = cdup(t, o->log_stream_name)) == NULL)) {
        goto out;
    }
    if (t->ns != NULL && strlen(t->ns) > EX_CW_EMF_MAX_NAME) {
        snprintf(err, errlen, "namespace: longer than %d characters", EX_CW_EMF_MAX_NAME);
        rc = AG_EINVAL;
        goto out;
    }
    t->rollup = o->rollup;
    t->detailed = o->detailed_metrics != 0;
    t->retain = o->retain_initial_value_of_delta_metric != 0;
    t->r2t = o->resource_to_telemetry_conversion != 0;
    t->omit_bad_units = o->omit_invalid_units != 0;
    t->version = o->version;
    t->max_event = o->max_event_bytes > 0 ? o->max_event_bytes : EX_CW_EMF_DEFAULT_EVENT_BYTES;
    t->decls = ag_arena_calloc(t->cfg, (o->n_declarations + 1) * sizeof(*t->decls));
    t->descs = ag_arena_calloc(t->cfg, (o->n_descriptors + 1) * sizeof(*t->descs));
    t->json_attrs =
        ag_arena_calloc(t->cfg, (o->n_parse_json_encoded_attr_values + 1) * sizeof(char *));
    if (t->decls == NULL || t->descs == NULL || t->json_attrs == NULL) {
        goto out;
    }
    for (size_t i = 0; i < o->n_declarations; i++) {
        t->n_decls++; /* counted first so that a partly built one is freed */
        rc = build_decl(t, &o->declarations[i], &t->decls[i], err, errlen);
        if (rc != 0) {
            goto out;
        }
    }
    rc = AG_ENOMEM;
    for (size_t i = 0; i < o->n_descriptors; i++) {
        const struct ex_cw_emf_descriptor_opts *d = &o->descriptors[i];
        if (d->metric_name == NULL || d->metric_name[0] == '\0' || d->unit == NULL) {
            snprintf(err, errlen, "metric_descriptors: metric_name and unit are required");
            rc = AG_EINVAL;
            goto out;
        }
        t->descs[i].name = cdup(t, d->metric_name);
        t->descs[i].unit = cdup(t, d->unit);
        t->descs[i].overwrite = d->overwrite != 0;
        if (t->descs[i].name == NULL || t->descs[i].unit == NULL) {
            goto out;
        }
        t->n_descs++;
    }
    for (size_t i = 0; i < o->n_parse_json_encoded_attr_values; i++) {
        if ((t->json_attrs[i] = cdup(t, o->parse_json_encoded_attr_values[i])) == NULL) {
            goto out;
        }
        t->n_json_attrs++;
    }
    rc = ex_cw_delta_new(o->delta_max_entries, o->delta_ttl_ns, &t->delta);
    if (rc != 0) {
        goto out;
    }
    /* A version 4 UUID per translator, as upstream's per-exporter default stream. */
    uint64_t s = random ^ ag_time_now_ns();
    uint64_t hi = splitmix(&s), lo = splitmix(&s);
    hi = (hi & ~0xf000ull) | 0x4000ull;
    lo = (lo & 0x3fffffffffffffffull) | 0x8000000000000000ull;
    snprintf(t->stream, sizeof(t->stream),
             "otel-stream-%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             hi >> 32, (hi >> 16) & 0xffffu, hi & 0xffffu, lo >> 48, lo & (uint64_t)0xffffffffffff);
    *out = t;
    t = NULL;
    rc = 0;
out:
    if (rc == AG_ENOMEM && err[0] == '\0') {
        snprintf(err, errlen, "out of memory");
    }
    ex_cw_emf_free(t);
    return rc;
}

void ex_cw_emf_free(struct ex_cw_emf *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->n_decls; i++) {
        struct decl *d = &t->decls[i];
        for (size_t j = 0; j < d->n_sel; j++) {
            regfree(&d->sel[j]);
        }
        for (size_t j = 0; j < d->n_m; j++) {
            if (d->m[j].re_ok) {
                regfree(&d->m[j].re);
            }
        }
    }
    ex_cw_delta_free(t->delta);
    ag_arena_free(t->cfg);
    ag_free(t);
}

const char *ex_cw_emf_default_stream(const struct ex_cw_emf *t)
{
    return t->stream;
}

void ex_cw_emf_delta_stats(const struct ex_cw_emf *t, struct ex_cw_delta_stats *out)
{
    ex_cw_delta_get_stats(t->delta, out);
}

/* ---- attribute values as strings ---- */

static void any_json(struct ag_json *w, const pb_any *v, int depth)
{
    if (v == NULL || depth > ANY_JSON_DEPTH) {
        ag_json_null(w);
        return;
    }
    switch (v->value_case) {
    case V_STR:
        ag_json_str(w, v->string_value);
        break;
    case V_BOOL:
        ag_json_bool(w, v->bool_value);
        break;
    case V_INT:
        ag_json_int(w, v->int_value);
        break;
    case V_DOUBLE:
        if (isfinite(v->double_value)) {
            ag_json_double(w, v->double_value);
        } else {
            ag_json_null(w);
        }
        break;
    case V_BYTES:
        ag_json_base64(w, v->bytes_value.data, v->bytes_value.len);
        break;
    case V_ARRAY:
        ag_json_arr_open(w);
        for (size_t i = 0; v->array_value != NULL && i < v->array_value->n_values; i++) {
            any_json(w, v->array_value->values[i], depth + 1);
        }
        ag_json_arr_close(w);
        break;
    case V_KVLIST:
        ag_json_obj_open(w);
        for (size_t i = 0; v->kvlist_value != NULL && i < v->kvlist_value->n_values; i++) {
            const pb_kv *kv = v->kvlist_value->values[i];
            if (kv != NULL && kv->key != NULL) {
                ag_json_key(w, kv->key);
                any_json(w, kv->value, depth + 1);
            }
        }
        ag_json_obj_close(w);
        break;
    default:
        ag_json_null(w);
        break;
    }
}

/* Renders |v| as upstream's Value.AsString() does, into the arena. NULL on OOM. */
static const char *any_string(struct run *r, const pb_any *v, size_t *len)
{
    char num[40];
    const char *s = "";
    if (v == NULL) {
        *len = 0;
        return "";
    }
    switch (v->value_case) {
    case V_STR:
        s = v->string_value != NULL ? v->string_value : "";
        *len = strlen(s);
        return s;
    case V_BOOL:
        s = v->bool_value ? "true" : "false";
        *len = strlen(s);
        return s;
    case V_INT: {
        /* The decimal form snprintf("%" PRId64) gives, without the format machinery. */
        char *end = num + sizeof(num), *q = end;
        uint64_t m = v->int_value < 0 ? 0 - (uint64_t)v->int_value : (uint64_t)v->int_value;
        do {
            *--q = (char)('0' + m % 10);
            m /= 10;
        } while (m != 0);
        if (v->int_value < 0) {
            *--q = '-';
        }
        *len = (size_t)(end - q);
        s = ag_arena_strndup(r->a, q, *len);
        if (s == NULL) {
            r->err = AG_ENOMEM;
        }
        return s;
    }
    case V_DOUBLE:
    case V_BYTES:
    case V_ARRAY:
    case V_KVLIST: {
        struct ag_buf b;
        struct ag_json w;
        ag_buf_init(&b, (size_t)1 << 20);
        ag_json_init(&w, &b);
        any_json(&w, v, 0);
        int e = ag_json_finish(&w);
        if (e != 0) {
            ag_buf_cleanup(&b);
            *len = 0;
            if (e == AG_ETOOBIG) {
                return ""; /* a value over 1 MiB cannot be a dimension anyway */
            }
            r->err = AG_ENOMEM;
            return NULL;
        }
        const char *p = ag_buf_str(&b);
        size_t n = b.len;
        /* Strings (bytes as base64) lose their quotes; numbers and structures stay JSON. */
        if (v->value_case == V_BYTES && n >= 2) {
            p++;
            n -= 2;
        }
        char *copy = ag_arena_strndup(r->a, p, n);
        ag_buf_cleanup(&b);
        *len = n;
        if (copy == NULL) {
            r->err = AG_ENOMEM;
        }
        return copy;
    }
    default:
        *len = 0;
        return "";
    }
}

static const pb_kv *kv_find(const pb_kv *const *kvs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (kvs[i] != NULL && kvs[i]->key != NULL && strcmp(kvs[i]->key, key) == 0) {
            return kvs[i];
        }
    }
    return NULL;
}

static const char *res_str(const struct rctx *rc, const char *key)
{
    const pb_kv *kv = kv_find(rc->rattrs, rc->n_rattrs, key);
    if (kv == NULL || kv->value == NULL || kv->value->value_case != V_STR) {
        return NULL;
    }
    return kv->value->string_value;
}

/* ---- placeholders (emf-cwlogs.md 6.2) ---- */

static const char *const placeholders[][2] = {
    {"ClusterName", "aws.ecs.cluster.name"},
    {"TaskId", "aws.ecs.task.id"},
    {"NodeName", "k8s.node.name"},
    {"PodName", "pod"},
    {"ServiceName", "service.name"},
    {"ContainerInstanceId", "aws.ecs.container.instance.id"},
    {"TaskDefinitionFamily", "aws.ecs.task.family"},
};

typedef const char *lookup_fn(struct run *r, const void *src, const char *key, size_t *len);

static const char *lookup_resource(struct run *r, const void *src, const char *key, size_t *len)
{
    const struct rctx *rc = src;
    const pb_kv *kv = kv_find(rc->rattrs, rc->n_rattrs, key);
    if (kv == NULL) {
        return NULL;
    }
    return any_string(r, kv->value, len);
}

/* The second pass: the point's labels, then (Otter) the resource again. */
struct both {
    const struct pctx *pc;
    const struct rctx *rc;
};

static const char *lookup_labels(struct run *r, const void *src, const char *key, size_t *len)
{
    const struct both *b = src;
    for (size_t i = 0; i < b->pc->n; i++) {
        if (strcmp(b->pc->labels[i].k, key) == 0 && b->pc->labels[i].vl > 0) {
            *len = b->pc->labels[i].vl;
            return b->pc->labels[i].v;
        }
    }
    const char *v = lookup_resource(r, b->rc, key, len);
    return v != NULL && *len > 0 ? v : NULL;
}

/*
 * Replaces the known placeholders of |pat|; unknown {X} stay as written. Sets |*failed| when one
 * had no value (it became "undefined"). Returns the arena string, or NULL on OOM.
 */
static const char *replace_placeholders(struct run *r, const char *pat, lookup_fn *fn,
                                        const void *src, bool *failed)
{
    struct ag_buf b;
    const char *result = NULL;
    *failed = false;
    if (strchr(pat, '{') == NULL) {
        return pat;
    }
    ag_buf_init(&b, (size_t)64 << 10);
    const char *p = pat;
    while (*p != '\0') {
        const char *close = p[0] == '{' ? strchr(p, '}') : NULL;
        size_t which = sizeof(placeholders) / sizeof(placeholders[0]);
        if (close != NULL) {
            for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++) {
                size_t n = strlen(placeholders[i][0]);
                if ((size_t)(close - p - 1) == n && memcmp(p + 1, placeholders[i][0], n) == 0) {
                    which = i;
                }
            }
        }
        if (which == sizeof(placeholders) / sizeof(placeholders[0])) {
            if (ag_buf_addc(&b, *p) != 0) {
                goto out;
            }
            p++;
            continue;
        }
        size_t vl = 0;
        const char *v = fn(r, src, placeholders[which][0], &vl);
        if (v == NULL) {
            v = fn(r, src, placeholders[which][1], &vl);
        }
        if (v == NULL && r->err != 0) {
            goto out;
        }
        if (v == NULL || vl == 0) {
            v = "undefined";
            vl = strlen(v);
            *failed = true;
        }
        if (ag_buf_add(&b, v, vl) != 0) {
            goto out;
        }
        p = close + 1;
    }
    result = ag_arena_strndup(r->a, ag_buf_str(&b), b.len);
out:
    ag_buf_cleanup(&b);
    return result;
}

/* ---- labels ---- */

static int label_cmp(const void *a, const void *b)
{
    const struct label *x = a, *y = b;
    size_t n = x->kl < y->kl ? x->kl : y->kl;
    int c = memcmp(x->k, y->k, n);
    if (c != 0) {
        return c;
    }
    return x->kl < y->kl ? -1 : x->kl > y->kl;
}

static bool reserved_name(const char *name)
{
    static const char *const names[] = {"_aws", "Version", "Timestamp", "CloudWatchMetrics",
                                        "prom_metric_type"};
    if (strchr("_VTCp", name[0]) == NULL || name[0] == '\0') {
        return false; /* the common case, without a string compare */
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Adds or replaces a label (later additions take precedence, as upstream's map writes). */
static void put_label(struct label *ls, size_t *n, const char *k, const char *v, size_t vl)
{
    size_t kl = strlen(k);
    for (size_t i = 0; i < *n; i++) {
        if (ls[i].kl == kl && memcmp(ls[i].k, k, kl) == 0) {
            ls[i].v = v;
            ls[i].vl = vl;
            return;
        }
    }
    ls[*n] = (struct label){.k = k, .kl = kl, .v = v, .vl = vl};
    (*n)++;
}

static bool json_attr(const struct ex_cw_emf *t, const char *k)
{
    for (size_t i = 0; i < t->n_json_attrs; i++) {
        if (strcmp(t->json_attrs[i], k) == 0) {
            return true;
        }
    }
    return false;
}

/* Replaces |l|'s value by its compact JSON when it parses (parse_json_encoded_attr_values). */
static int parse_json_label(struct run *r, struct label *l)
{
    json_error_t jerr;
    json_t *j = json_loadb(l->v, l->vl, JSON_DECODE_ANY, &jerr);
    if (j == NULL) {
        return 0; /* not JSON (or no memory to tell): the string stays */
    }
    int rc = 0;
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
    size_t n = json_dumpb(j, NULL, 0, flags);
    char *buf = n > 0 ? ag_arena_alloc(r->a, n + 1) : NULL;
    if (n > 0 && buf == NULL) {
        rc = AG_ENOMEM;
    } else if (n > 0 && json_dumpb(j, buf, n, flags) == n) {
        buf[n] = '\0';
        l->v = buf;
        l->vl = n;
        l->raw_json = true;
    }
    json_decref(j);
    return rc;
}

/*
 * Builds the labels of one point: attributes as strings, resource attributes with
 * resource_to_telemetry_conversion, then OTelLib; the storage resolution label is consumed.
 */
static int point_labels(struct run *r, const struct rctx *rc, const pb_kv *const *attrs,
                        size_t n_attrs, const char *extra_k, const char *extra_v, struct pctx *pc)
{
    size_t max = n_attrs + (r->t->r2t ? rc->n_rattrs : 0) + 2;
    struct label *ls = ag_arena_alloc(r->a, max * sizeof(*ls));
    if (ls == NULL) {
        return AG_ENOMEM;
    }
    size_t n = 0;
    pc->sres = 60;
    for (int pass = 0; pass < 2; pass++) {
        const pb_kv *const *kvs = pass == 0 ? attrs : rc->rattrs;
        size_t nk = pass == 0 ? n_attrs : (r->t->r2t ? rc->n_rattrs : 0);
        for (size_t i = 0; i < nk; i++) {
            const pb_kv *kv = kvs[i];
            if (kv == NULL || kv->key == NULL) {
                continue;
            }
            size_t vl = 0;
            const char *v = any_string(r, kv->value, &vl);
            if (v == NULL) {
                return AG_ENOMEM;
            }
            put_label(ls, &n, kv->key, v, vl);
        }
    }
    if (extra_k != NULL) {
        put_label(ls, &n, extra_k, extra_v, strlen(extra_v));
    }
    if (rc->scope != NULL) {
        put_label(ls, &n, OTELLIB, rc->scope, strlen(rc->scope));
    }
    /* Labels named like the document's own keys would make duplicate keys: dropped. */
    for (size_t i = 0; i < n;) {
        if (reserved_name(ls[i].k)) {
            r->res->labels_dropped++;
            ls[i] = ls[--n];
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ls[i].k, STORAGE_LABEL) == 0) {
            char tmp[16];
            size_t vl = ls[i].vl < sizeof(tmp) - 1 ? ls[i].vl : sizeof(tmp) - 1;
            memcpy(tmp, ls[i].v, vl);
            tmp[vl] = '\0';
            char *end = NULL;
            long v = strtol(tmp, &end, 10);
            /* CloudWatch takes 1 or 60 only: anything else keeps the standard resolution. */
            pc->sres = (end != tmp && *end == '\0' && v == 1) ? 1 : 60;
            ls[i] = ls[--n];
            break;
        }
    }
    for (size_t i = 0; i < n && r->t->n_json_attrs > 0; i++) {
        if (json_attr(r->t, ls[i].k) && parse_json_label(r, &ls[i]) != 0) {
            return AG_ENOMEM;
        }
    }
    if (n <= 16) {
        /* A point's few labels (keys unique, so any sort gives this order): insertion, without
         * qsort's calls through a pointer. */
        for (size_t i = 1; i < n; i++) {
            struct label l = ls[i];
            size_t j = i;
            for (; j > 0 && label_cmp(&ls[j - 1], &l) > 0; j--) {
                ls[j] = ls[j - 1];
            }
            ls[j] = l;
        }
    } else {
        qsort(ls, n, sizeof(*ls), label_cmp);
    }
    pc->labels = ls;
    pc->n = n;
    pc->key_len = 0;
    for (size_t i = 0; i < n; i++) {
        pc->key_len += ls[i].kl + ls[i].vl + 2;
    }
    return 0;
}

/* ---- groups ---- */

/* Copies the labels of |pc| to |q| as a key holds them (key\0value\0 each); returns the end. */
static uint8_t *put_labels(uint8_t *q, const struct pctx *pc)
{
    for (size_t i = 0; i < pc->n; i++) {
        const struct label *l = &pc->labels[i];
        memcpy(q, l->k, l->kl + 1); /* with its NUL */
        q += l->kl + 1;
        memcpy(q, l->v, l->vl);
        q += l->vl;
        *q++ = '\0';
    }
    return q;
}

/* Copies the |n| strings of |strs| (lengths |lens|, NULs included) to |q|; returns the end. */
static uint8_t *put_strs(uint8_t *q, const char *const *strs, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memcpy(q, strs[i], lens[i]);
        q += lens[i];
    }
    return q;
}

/*
 * Starts a key of |len| bytes in r->kb (reused for every point: one reservation, then plain
 * copies). Returns where the bytes go, or NULL (out of memory).
 */
static uint8_t *key_begin(struct run *r, size_t len)
{
    ag_buf_reset(&r->kb);
    return ag_buf_reserve(&r->kb, len);
}

static int grow_table(struct run *r)
{
    size_t nb = r->nb == 0 ? 64 : r->nb * 2;
    struct group **tab = ag_arena_calloc(r->a, nb * sizeof(*tab));
    if (tab == NULL) {
        return AG_ENOMEM;
    }
    for (struct group *g = r->first; g != NULL; g = g->next) {
        size_t i = g->hash & (nb - 1);
        g->hnext = tab[i];
        tab[i] = g;
    }
    r->tab = tab;
    r->nb = nb;
    return 0;
}

/*
 * Adds |mv| to the group of (|pc|, |rc|->ns, |type|, |split|), creating the group. Metric names
 * that collide with a label or a reserved key, and repeats in one group, are counted drops.
 */
static int add_value(struct run *r, const struct rctx *rc, const struct pctx *pc, enum mtype type,
                     uint32_t split, struct mval *mv)
{
    struct ag_buf kb;
    int rc_ = AG_ENOMEM;
    /* The group's key: labels, namespace, group, stream, timestamp, type and split. */
    const char *strs[3] = {rc->ns, pc->lg, pc->ls};
    size_t lens[3], len = pc->key_len + sizeof(pc->ts) + 1 + sizeof(split);
    for (size_t i = 0; i < 3; i++) {
        lens[i] = strlen(strs[i]) + 1;
        len += lens[i];
    }
    uint8_t *q = key_begin(r, len);
    if (q == NULL) {
        return AG_ENOMEM;
    }
    q = put_strs(put_labels(q, pc), strs, lens, 3);
    memcpy(q, &pc->ts, sizeof(pc->ts));
    q[sizeof(pc->ts)] = (uint8_t)type;
    memcpy(q + sizeof(pc->ts) + 1, &split, sizeof(split));
    ag_buf_commit(&r->kb, len);
    kb = r->kb;
    uint64_t h = hash_bytes(ag_buf_ptr(&kb), kb.len, HASH_SEED);
    if (r->ng >= r->nb && grow_table(r) != 0) {
        goto out;
    }
    struct group *g = r->tab[h & (r->nb - 1)];
    while (g != NULL &&
           !(g->hash == h && g->klen == kb.len && memcmp(g->key, ag_buf_ptr(&kb), kb.len) == 0)) {
        g = g->hnext;
    }
    if (g == NULL) {
        g = ag_arena_calloc(r->a, sizeof(*g));
        unsigned char *key = ag_arena_alloc(r->a, kb.len);
        if (g == NULL || key == NULL) {
            goto out;
        }
        memcpy(key, ag_buf_ptr(&kb), kb.len);
        g->key = key;
        g->klen = kb.len;
        g->hash = h;
        g->labels = pc->labels;
        g->n_labels = pc->n;
        g->ns = rc->ns;
        g->lg = pc->lg;
        g->ls = pc->ls;
        g->ts = pc->ts;
        if (rc->prom) {
            g->prom_type = type == T_GAUGE     ? "gauge"
                           : type == T_SUM     ? "counter"
                           : type == T_HIST    ? "histogram"
                           : type == T_SUMMARY ? "summary"
                                               : NULL;
        }
        g->hnext = r->tab[h & (r->nb - 1)];
        r->tab[h & (r->nb - 1)] = g;
        if (r->last != NULL) {
            r->last->next = g;
        } else {
            r->first = g;
        }
        r->last = g;
        r->ng++;
    }
    rc_ = 0;
    bool bad = reserved_name(mv->name);
    for (size_t i = 0; i < g->n_labels && !bad; i++) {
        bad = strcmp(g->labels[i].k, mv->name) == 0;
    }
    if (bad) {
        r->res->dropped[EX_CW_EMF_DROP_BAD_NAME]++;
        goto out;
    }
    mv->name_hash = hash_bytes(mv->name, strlen(mv->name), HASH_SEED);
    for (struct mval *m = g->head; m != NULL; m = m->next) {
        if (m->name_hash == mv->name_hash && strcmp(m->name, mv->name) == 0) {
            r->res->dropped[EX_CW_EMF_DROP_DUPLICATE]++;
            goto out;
        }
    }
    if (g->tail != NULL) {
        g->tail->next = mv;
    } else {
        g->head = mv;
    }
    g->tail = mv;
    g->n++;
out:
    return rc_;
}

/* ---- data points ---- */

static int64_t ts_ms(const struct run *r, uint64_t ns)
{
    return (int64_t)((ns != 0 ? ns : r->now_ns) / 1000000u);
}

static int setup_point(struct run *r, const struct rctx *rc, const pb_kv *const *attrs,
                       size_t n_attrs, uint64_t time_ns, const char *extra_k, const char *extra_v,
                       struct pctx *pc)
{
    int e = point_labels(r, rc, attrs, n_attrs, extra_k, extra_v, pc);
    if (e != 0) {
        return e;
    }
    pc->ts = ts_ms(r, time_ns);
    pc->lg = rc->lg;
    pc->ls = rc->ls;
    bool failed;
    struct both b = {pc, rc};
    /* A placeholder the resource could not fill gets a second chance from the labels. */
    if (rc->lg_failed) {
        pc->lg = replace_placeholders(r, r->t->lg, lookup_labels, &b, &failed);
    }
    if (rc->ls_failed && pc->lg != NULL) {
        pc->ls = replace_placeholders(r, r->t->ls, lookup_labels, &b, &failed);
    }
    return pc->lg == NULL || pc->ls == NULL ? AG_ENOMEM : 0;
}

static const char *metric_unit(const struct run *r, const pb_metric *m)
{
    const char *unit = m->unit != NULL ? m->unit : "";
    for (size_t i = 0; i < r->t->n_descs; i++) {
        if (strcmp(r->t->descs[i].name, m->name) == 0 &&
            (unit[0] == '\0' || r->t->descs[i].overwrite)) {
            unit = r->t->descs[i].unit;
            goto check;
        }
    }
    unit = ex_cw_emf_unit(unit);
check:
    if (unit[0] == '\0' || (r->t->omit_bad_units && !ex_cw_emf_unit_valid(unit))) {
        return NULL;
    }
    return unit;
}

static struct mval *new_mval(struct run *r, const char *name, const char *unit, int sres,
                             enum vkind k)
{
    struct mval *mv = ag_arena_calloc(r->a, sizeof(*mv));
    if (mv != NULL) {
        mv->name = name;
        mv->unit = unit;
        mv->sres = sres;
        mv->kind = k;
    }
    return mv;
}

/* The delta cache's key: metric name, namespace, group, stream and labels. */
static int delta_step(struct run *r, const struct rctx *rc, const struct pctx *pc, const char *name,
                      const char *suffix, uint64_t start, uint64_t time, double value,
                      int monotonic, double *out)
{
    const char *strs[5] = {name, suffix, rc->ns, pc->lg, pc->ls};
    size_t lens[5], len = pc->key_len;
    for (size_t i = 0; i < 5; i++) {
        lens[i] = strlen(strs[i]) + 1;
        len += lens[i];
    }
    uint8_t *q = key_begin(r, len);
    if (q == NULL) {
        return AG_ENOMEM;
    }
    put_labels(put_strs(q, strs, lens, 5), pc);
    ag_buf_commit(&r->kb, len);
    return ex_cw_delta_update(r->t->delta, ag_buf_ptr(&r->kb), r->kb.len, start, time, r->now_ns,
                              value, monotonic, r->t->retain, out);
}

static int number_point(struct run *r, const struct rctx *rc, const pb_metric *m, const pb_num *p,
                        const char *unit)
{
    bool is_sum = m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
    double v;
    if ((p->flags & FLAG_NO_RECORDED_VALUE) != 0 ||
        p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE__NOT_SET) {
        r->res->dropped[EX_CW_EMF_DROP_NO_VALUE]++;
        return 0;
    }
    v = p->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT
            ? (double)p->as_int
            : p->as_double;
    if (!isfinite(v)) {
        r->res->dropped[EX_CW_EMF_DROP_NAN_INF]++;
        return 0;
    }
    struct pctx pc;
    int e = setup_point(r, rc, (const pb_kv *const *)p->attributes, p->n_attributes,
                        p->time_unix_nano, NULL, NULL, &pc);
    if (e != 0) {
        return e;
    }
    if (is_sum && m->sum->aggregation_temporality == CUMULATIVE) {
        e = delta_step(r, rc, &pc, m->name, "", p->start_time_unix_nano, p->time_unix_nano, v,
                       m->sum->is_monotonic, &v);
        if (e == AG_ENOMEM) {
            r->res->dropped[EX_CW_EMF_DROP_DELTA_OOM]++;
            return 0;
        }
        if (e == EX_CW_DELTA_BASELINE) {
            r->res->baseline++;
            return 0;
        }
    }
    struct mval *mv = new_mval(r, m->name, unit, pc.sres, VK_NUM);
    if (mv == NULL) {
        return AG_ENOMEM;
    }
    mv->v = v;
    return add_value(r, rc, &pc, is_sum ? T_SUM : T_GAUGE, 0, mv);
}

/*
 * What histograms of both kinds check first: a point with no recorded value, or a non-finite
 * sum, min or max, is dropped and counted (returns 0); otherwise the absent ones read as 0 into
 * |sum|, |min|, |max|, |pc| is set up and 1 is returned. A negative AG_E* on failure.
 */
static int hist_begin(struct run *r, const struct rctx *rc, uint32_t flags, bool has_sum,
                      double sum_v, bool has_min, double min_v, bool has_max, double max_v,
                      const pb_kv *const *attrs, size_t n_attrs, uint64_t time_ns, double *sum,
                      double *min, double *max, struct pctx *pc)
{
    if ((flags & FLAG_NO_RECORDED_VALUE) != 0) {
        r->res->dropped[EX_CW_EMF_DROP_NO_VALUE]++;
        return 0;
    }
    *sum = has_sum ? sum_v : 0;
    *min = has_min ? min_v : 0;
    *max = has_max ? max_v : 0;
    if (!isfinite(*sum) || !isfinite(*min) || !isfinite(*max)) {
        r->res->dropped[EX_CW_EMF_DROP_NAN_INF]++;
        return 0;
    }
    int e = setup_point(r, rc, attrs, n_attrs, time_ns, NULL, NULL, pc);
    return e != 0 ? e : 1;
}

static int hist_point(struct run *r, const struct rctx *rc, const pb_metric *m, const pb_hist *p,
                      const char *unit)
{
    double sum, min, max;
    struct pctx pc;
    int e = hist_begin(r, rc, p->flags, p->sum_present_case != 0, p->sum,
                       p->min_present_case != 0, p->min, p->max_present_case != 0, p->max,
                       (const pb_kv *const *)p->attributes, p->n_attributes, p->time_unix_nano,
                       &sum, &min, &max, &pc);
    if (e <= 0) {
        return e;
    }
    struct mval *mv = new_mval(r, m->name, unit, pc.sres, VK_STATS);
    if (mv == NULL) {
        return AG_ENOMEM;
    }
    mv->count = (double)p->count;
    mv->sum = sum;
    mv->min = min;
    mv->max = max;
    return add_value(r, rc, &pc, T_HIST, 0, mv);
}

/* base^index for base = 2^(2^-scale), without the rounding of pow(base, index). */
static double exp_bound(int32_t scale, int64_t index)
{
    return exp2(ldexp((double)index, -scale));
}

static double finite_or(double v, double fallback)
{
    return isfinite(v) ? v : fallback;
}

/* One bucket of the descending walk: value (midpoint), count and bounds. */
struct bucket {
    double value, count, lo, hi;
};

static int exp_point(struct run *r, const struct rctx *rc, const pb_metric *m, const pb_exp *p,
                     const char *unit)
{
    double sum, min, max;
    struct pctx pc;
    int e = hist_begin(r, rc, p->flags, p->sum_present_case != 0, p->sum,
                       p->min_present_case != 0, p->min, p->max_present_case != 0, p->max,
                       (const pb_kv *const *)p->attributes, p->n_attributes, p->time_unix_nano,
                       &sum, &min, &max, &pc);
    if (e <= 0) {
        return e;
    }
    const pb_buckets *pos = p->positive, *neg = p->negative;
    size_t npos = pos != NULL ? pos->n_bucket_counts : 0;
    size_t nneg = neg != NULL ? neg->n_bucket_counts : 0;
    size_t total = npos + nneg + 1;
    struct bucket *bk = ag_arena_alloc(r->a, total * sizeof(*bk));
    if (bk == NULL) {
        return AG_ENOMEM;
    }
    size_t n = 0;
    /* Positive buckets from high to low, the zero bucket, then negative ones from -small to
     * -large: one descending list (emf-cwlogs.md 3.2). */
    for (size_t i = npos; i-- > 0;) {
        if (pos->bucket_counts[i] == 0) {
            continue;
        }
        int64_t idx = (int64_t)pos->offset + (int64_t)i;
        double lo = finite_or(exp_bound(p->scale, idx), DBL_MAX);
        double hi = finite_or(exp_bound(p->scale, idx + 1), DBL_MAX);
        bk[n++] = (struct bucket){finite_or(lo + (hi - lo) / 2, lo), (double)pos->bucket_counts[i],
                                  lo, hi};
    }
    if (p->zero_count > 0) {
        bk[n++] = (struct bucket){0, (double)p->zero_count, 0, 0};
    }
    for (size_t i = 0; i < nneg; i++) {
        if (neg->bucket_counts[i] == 0) {
            continue;
        }
        int64_t idx = (int64_t)neg->offset + (int64_t)i;
        double lo = finite_or(exp_bound(p->scale, idx), DBL_MAX);
        double hi = finite_or(exp_bound(p->scale, idx + 1), DBL_MAX);
        bk[n++] = (struct bucket){-finite_or(lo + (hi - lo) / 2, lo), (double)neg->bucket_counts[i],
                                  -hi, -lo};
    }
    if (n == 0) {
        struct mval *mv = new_mval(r, m->name, unit, pc.sres, VK_HIST);
        if (mv == NULL) {
            return AG_ENOMEM;
        }
        mv->count = (double)p->count;
        mv->sum = sum;
        mv->min = min;
        mv->max = max;
        return add_value(r, rc, &pc, T_EXP, 0, mv);
    }
    size_t nchunks = (n + EX_CW_EMF_MAX_VALUES - 1) / EX_CW_EMF_MAX_VALUES;
    for (size_t c = 0; c < nchunks; c++) {
        size_t from = c * EX_CW_EMF_MAX_VALUES;
        size_t len = n - from < EX_CW_EMF_MAX_VALUES ? n - from : EX_CW_EMF_MAX_VALUES;
        struct mval *mv = new_mval(r, m->name, unit, pc.sres, VK_HIST);
        double *vals = ag_arena_alloc(r->a, 2 * len * sizeof(double));
        if (mv == NULL || vals == NULL) {
            return AG_ENOMEM;
        }
        mv->values = vals;
        mv->counts = vals + len;
        mv->n = len;
        for (size_t i = 0; i < len; i++) {
            mv->values[i] = bk[from + i].value;
            mv->counts[i] = bk[from + i].count;
            mv->count += bk[from + i].count;
        }
        /* Only the first chunk carries the sum, so that CloudWatch's aggregate is right. */
        mv->sum = c == 0 ? sum : 0;
        mv->max = c == 0 ? max : bk[from].hi;
        mv->min = c == nchunks - 1 ? min : bk[from + len - 1].lo;
        e = add_value(r, rc, &pc, T_EXP, (uint32_t)c, mv);
        if (e != 0) {
            return e;
        }
    }
    return 0;
}

/* Go's strconv.FormatFloat(v, 'g', -1, 64) for the quantile label: shortest round trip. */
static void format_g(double v, char *buf, size_t len)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) {
            return;
        }
    }
}

static int summary_point(struct run *r, const struct rctx *rc, const pb_metric *m, const pb_sum *p,
                         const char *unit)
{
    if ((p->flags & FLAG_NO_RECORDED_VALUE) != 0) {
        r->res->dropped[EX_CW_EMF_DROP_NO_VALUE]++;
        return 0;
    }
    bool bad = !isfinite(p->sum);
    for (size_t i = 0; i < p->n_quantile_values && !bad; i++) {
        bad = p->quantile_values[i] == NULL || !isfinite(p->quantile_values[i]->value);
    }
    if (bad) {
        r->res->dropped[EX_CW_EMF_DROP_NAN_INF]++;
        return 0;
    }
    struct pctx pc;
    int e = setup_point(r, rc, (const pb_kv *const *)p->attributes, p->n_attributes,
                        p->time_unix_nano, NULL, NULL, &pc);
    if (e != 0) {
        return e;
    }
    double sum = p->sum, count = (double)p->count;
    if (rc->prom) {
        /* Prometheus summaries are cumulative: Sum and Count become deltas. */
        double ds = 0, dc = 0;
        int a = delta_step(r, rc, &pc, m->name, "_sum", p->start_time_unix_nano, p->time_unix_nano,
                           sum, 1, &ds);
        int b = a < 0 ? a
                      : delta_step(r, rc, &pc, m->name, "_count", p->start_time_unix_nano,
                                   p->time_unix_nano, count, 1, &dc);
        if (a == AG_ENOMEM || b == AG_ENOMEM) {
            r->res->dropped[EX_CW_EMF_DROP_DELTA_OOM]++;
            return 0;
        }
        if (a == EX_CW_DELTA_BASELINE || b == EX_CW_DELTA_BASELINE) {
            r->res->baseline++;
            return 0;
        }
        sum = ds;
        count = dc;
    }
    if (!r->t->detailed) {
        struct mval *mv = new_mval(r, m->name, unit, pc.sres, VK_STATS);
        if (mv == NULL) {
            return AG_ENOMEM;
        }
        mv->count = count;
        mv->sum = sum;
        if (p->n_quantile_values > 0) {
            mv->min = p->quantile_values[0]->value;
            mv->max = p->quantile_values[p->n_quantile_values - 1]->value;
        }
        return add_value(r, rc, &pc, T_SUMMARY, 0, mv);
    }
    size_t nl = strlen(m->name);
    char *n_sum = ag_arena_alloc(r->a, nl + 5), *n_count = ag_arena_alloc(r->a, nl + 7);
    struct mval *ms = new_mval(r, n_sum, unit, pc.sres, VK_NUM);
    struct mval *mc = new_mval(r, n_count, unit, pc.sres, VK_NUM);
    if (n_sum == NULL || n_count == NULL || ms == NULL || mc == NULL) {
        return AG_ENOMEM;
    }
    snprintf(n_count, nl + 7, "%s_count", m->name);
    snprintf(n_sum, nl + 5, "%s_sum", m->name);
    mc->v = count;
    ms->v = sum;
    if ((e = add_value(r, rc, &pc, T_SUMMARY, 0, mc)) != 0 ||
        (e = add_value(r, rc, &pc, T_SUMMARY, 0, ms)) != 0) {
        return e;
    }
    for (size_t i = 0; i < p->n_quantile_values; i++) {
        char q[40];
        format_g(p->quantile_values[i]->quantile, q, sizeof(q));
        char *qs = ag_arena_strndup(r->a, q, strlen(q));
        struct pctx qc;
        if (qs == NULL) {
            return AG_ENOMEM;
        }
        e = setup_point(r, rc, (const pb_kv *const *)p->attributes, p->n_attributes,
                        p->time_unix_nano, "quantile", qs, &qc);
        struct mval *mq = e == 0 ? new_mval(r, m->name, unit, qc.sres, VK_NUM) : NULL;
        if (mq == NULL) {
            return AG_ENOMEM;
        }
        mq->v = p->quantile_values[i]->value;
        if ((e = add_value(r, rc, &qc, T_SUMMARY, 0, mq)) != 0) {
            return e;
        }
    }
    return 0;
}

static size_t metric_points(const pb_metric *m)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        return m->gauge != NULL ? m->gauge->n_data_points : 0;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        return m->sum != NULL ? m->sum->n_data_points : 0;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        return m->histogram != NULL ? m->histogram->n_data_points : 0;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        return m->exponential_histogram != NULL ? m->exponential_histogram->n_data_points : 0;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        return m->summary != NULL ? m->summary->n_data_points : 0;
    default:
        return 0;
    }
}

static int metric(struct run *r, const struct rctx *rc, const pb_metric *m)
{
    size_t np = metric_points(m);
    r->res->points += np;
    if (np == 0) {
        return 0;
    }
    size_t nl = m->name != NULL ? strlen(m->name) : 0;
    if (nl == 0 || nl > EX_CW_EMF_MAX_NAME || rc->ns == NULL) {
        r->res->dropped[EX_CW_EMF_DROP_BAD_NAME] += np;
        return 0;
    }
    const char *unit = metric_unit(r, m);
    int e = 0;
    for (size_t i = 0; i < np && e == 0; i++) {
        switch (m->data_case) {
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
            e = number_point(r, rc, m, m->gauge->data_points[i], unit);
            break;
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
            e = number_point(r, rc, m, m->sum->data_points[i], unit);
            break;
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
            e = hist_point(r, rc, m, m->histogram->data_points[i], unit);
            break;
        case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
            e = exp_point(r, rc, m, m->exponential_histogram->data_points[i], unit);
            break;
        default:
            e = summary_point(r, rc, m, m->summary->data_points[i], unit);
            break;
        }
    }
    return e;
}

/* Namespace, log group and stream of one resource (emf-cwlogs.md 6.1, 6.2). */
static int resource_names(struct run *r, struct rctx *rc)
{
    const struct ex_cw_emf *t = r->t;
    if (t->ns != NULL) {
        rc->ns = t->ns;
    } else {
        const char *sn = res_str(rc, "service.name"), *sns = res_str(rc, "service.namespace");
        sn = sn != NULL && sn[0] != '\0' ? sn : NULL;
        sns = sns != NULL && sns[0] != '\0' ? sns : NULL;
        if (sn != NULL && sns != NULL) {
            size_t n = strlen(sns) + strlen(sn) + 2;
            char *s = ag_arena_alloc(r->a, n);
            if (s == NULL) {
                return AG_ENOMEM;
            }
            snprintf(s, n, "%s/%s", sns, sn);
            rc->ns = s;
        } else {
            rc->ns = sn != NULL ? sn : sns != NULL ? sns : "default";
        }
        if (strlen(rc->ns) > EX_CW_EMF_MAX_NAME) {
            rc->ns = NULL; /* every point of the resource is dropped as bad_name */
        }
    }
    if (t->lg != NULL) {
        rc->lg = replace_placeholders(r, t->lg, lookup_resource, rc, &rc->lg_failed);
    } else {
        const char *ns = rc->ns != NULL ? rc->ns : "default";
        size_t n = strlen(ns) + sizeof("/metrics/");
        char *s = ag_arena_alloc(r->a, n);
        if (s != NULL) {
            snprintf(s, n, "/metrics/%s", ns);
        }
        rc->lg = s;
    }
    rc->ls = t->ls != NULL ? replace_placeholders(r, t->ls, lookup_resource, rc, &rc->ls_failed)
                           : t->stream;
    const char *recv = res_str(rc, "receiver");
    rc->prom = recv != NULL && strcmp(recv, "prometheus") == 0;
    return rc->lg == NULL || rc->ls == NULL ? AG_ENOMEM : 0;
}

/* ---- rendering ---- */

/* A dimension set: label indexes into the group's sorted labels, ascending. */
struct dimset {
    size_t *idx;
    size_t n;
};

struct dims {
    struct dimset *sets;
    size_t n, cap;
};

static bool dim_label_ok(const struct label *l)
{
    return !l->raw_json && l->kl > 0 && l->kl <= EX_CW_EMF_MAX_DIM_KEY && l->vl > 0 &&
           l->vl <= EX_CW_EMF_MAX_NAME;
}

static int idx_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Adds a set (sorted here) unless it is a duplicate or breaks CloudWatch's rules (counted). */
static int dims_add(struct run *r, const struct group *g, struct dims *d, const size_t *idx,
                    size_t n)
{
    bool ok = n <= EX_CW_EMF_MAX_DIMS;
    for (size_t i = 0; i < n && ok; i++) {
        ok = dim_label_ok(&g->labels[idx[i]]);
    }
    if (!ok) {
        r->res->dimension_sets_dropped++;
        return 0;
    }
    size_t *copy = ag_arena_alloc(r->a, (n + 1) * sizeof(size_t));
    if (copy == NULL) {
        return AG_ENOMEM;
    }
    memcpy(copy, idx, n * sizeof(size_t));
    qsort(copy, n, sizeof(size_t), idx_cmp);
    for (size_t i = 0; i < d->n; i++) {
        if (d->sets[i].n == n && memcmp(d->sets[i].idx, copy, n * sizeof(size_t)) == 0) {
            return 0;
        }
    }
    if (d->n == d->cap) {
        size_t cap = d->cap == 0 ? 8 : d->cap * 2;
        struct dimset *s = ag_arena_alloc(r->a, cap * sizeof(*s));
        if (s == NULL) {
            return AG_ENOMEM;
        }
        if (d->n > 0) {
            memcpy(s, d->sets, d->n * sizeof(*s));
        }
        d->sets = s;
        d->cap = cap;
    }
    d->sets[d->n++] = (struct dimset){copy, n};
    return 0;
}

static long label_index(const struct group *g, const char *k)
{
    size_t lo = 0, hi = g->n_labels;
    struct label key = {.k = k, .kl = strlen(k)};
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = label_cmp(&key, &g->labels[mid]);
        if (c == 0) {
            return (long)mid;
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return -1;
}

/* The roll-up sets (emf-cwlogs.md 5): per label [OTelLib?, label], and the zero set. */
static int add_rollup(struct run *r, const struct group *g, struct dims *d)
{
    enum ex_cw_emf_rollup ro = r->t->rollup;
    if (ro != EX_CW_EMF_ROLLUP_ZERO_AND_SINGLE && ro != EX_CW_EMF_ROLLUP_SINGLE_ONLY) {
        return 0;
    }
    long o = label_index(g, OTELLIB);
    size_t set[2];
    size_t real = 0;
    for (size_t i = 0; i < g->n_labels; i++) {
        if ((long)i == o) {
            continue;
        }
        real++;
        size_t n = 0;
        if (o >= 0) {
            set[n++] = (size_t)o;
        }
        set[n++] = i;
        int e = dims_add(r, g, d, set, n);
        if (e != 0) {
            return e;
        }
    }
    if (ro == EX_CW_EMF_ROLLUP_ZERO_AND_SINGLE && real > 0) {
        set[0] = (size_t)o;
        return dims_add(r, g, d, set, o >= 0 ? 1 : 0);
    }
    return 0;
}

/* Dimensions without metric_declarations: the full set (unless a roll-up repeats it) + roll-up. */
static int plain_dims(struct run *r, const struct group *g, struct dims *d)
{
    enum ex_cw_emf_rollup ro = r->t->rollup;
    bool single = ro == EX_CW_EMF_ROLLUP_ZERO_AND_SINGLE || ro == EX_CW_EMF_ROLLUP_SINGLE_ONLY;
    bool has_o = label_index(g, OTELLIB) >= 0;
    size_t real = g->n_labels - (has_o ? 1 : 0);
    /* Roll-up sets exist when there is a real label (per-label sets), which is also the only
     * case in which the zero set is added. */
    bool rollup_nonempty = single && real > 0;
    bool single_label = g->n_labels <= 1 || (g->n_labels == 2 && has_o);
    if (!(rollup_nonempty && single_label)) {
        size_t *all = ag_arena_alloc(r->a, (g->n_labels + 1) * sizeof(size_t));
        if (all == NULL) {
            return AG_ENOMEM;
        }
        for (size_t i = 0; i < g->n_labels; i++) {
            all[i] = i;
        }
        int e = dims_add(r, g, d, all, g->n_labels);
        if (e != 0) {
            return e;
        }
    }
    return add_rollup(r, g, d);
}

static bool matcher_matches(struct run *r, const struct group *g, const struct matcher *m)
{
    struct ag_buf b;
    bool ok = false;
    ag_buf_init(&b, (size_t)1 << 20);
    for (size_t i = 0; i < m->n_names; i++) {
        long li = label_index(g, m->names[i]);
        if (li < 0) {
            goto out; /* upstream: a missing label name means no match */
        }
        if ((i > 0 && ag_buf_adds(&b, m->sep) != 0) ||
            ag_buf_add(&b, g->labels[li].v, g->labels[li].vl) != 0) {
            r->err = AG_ENOMEM;
            goto out;
        }
    }
    ok = regexec(&m->re, ag_buf_str(&b), 0, NULL, 0) == 0;
out:
    ag_buf_cleanup(&b);
    return ok;
}

static bool decl_applies(struct run *r, const struct group *g, const struct decl *d)
{
    if (d->n_m == 0) {
        return true;
    }
    for (size_t i = 0; i < d->n_m; i++) {
        if (matcher_matches(r, g, &d->m[i])) {
            return true;
        }
    }
    return false;
}

static bool decl_selects(const struct decl *d, const char *name)
{
    for (size_t i = 0; i < d->n_sel; i++) {
        if (regexec(&d->sel[i], name, 0, NULL, 0) == 0) {
            return true;
        }
    }
    return false;
}

static void write_metric_def(struct ag_json *w, const struct mval *m)
{
    ag_json_obj_open(w);
    ag_json_key_lit(w, "Name");
    ag_json_str(w, m->name);
    if (m->unit != NULL) {
        ag_json_key_lit(w, "Unit");
        ag_json_str(w, m->unit);
    }
    ag_json_key_lit(w, "StorageResolution");
    ag_json_int(w, m->sres);
    ag_json_obj_close(w);
}

static void write_directive(struct ag_json *w, const struct group *g, const struct dims *d,
                            struct mval *const *ms, size_t n, const unsigned char *pick,
                            unsigned char want)
{
    ag_json_obj_open(w);
    ag_json_key_lit(w, "Namespace");
    ag_json_str(w, g->ns);
    ag_json_key_lit(w, "Dimensions");
    ag_json_arr_open(w);
    for (size_t i = 0; i < d->n; i++) {
        ag_json_arr_open(w);
        for (size_t j = 0; j < d->sets[i].n; j++) {
            const struct label *l = &g->labels[d->sets[i].idx[j]];
            ag_json_strn(w, l->k, l->kl);
        }
        ag_json_arr_close(w);
    }
    ag_json_arr_close(w);
    ag_json_key_lit(w, "Metrics");
    ag_json_arr_open(w);
    for (size_t i = 0; i < n; i++) {
        if (pick == NULL || pick[i] == want) {
            write_metric_def(w, ms[i]);
        }
    }
    ag_json_arr_close(w);
    ag_json_obj_close(w);
}

static void write_value(struct ag_json *w, const struct mval *m)
{
    ag_json_key(w, m->name);
    if (m->kind == VK_NUM) {
        ag_json_double(w, m->v);
        return;
    }
    ag_json_obj_open(w);
    if (m->kind == VK_HIST) {
        ag_json_key_lit(w, "Values");
        ag_json_arr_open(w);
        for (size_t i = 0; i < m->n; i++) {
            ag_json_double(w, m->values[i]);
        }
        ag_json_arr_close(w);
        ag_json_key_lit(w, "Counts");
        ag_json_arr_open(w);
        for (size_t i = 0; i < m->n; i++) {
            ag_json_double(w, m->counts[i]);
        }
        ag_json_arr_close(w);
    }
    ag_json_key_lit(w, "Max");
    ag_json_double(w, m->max);
    ag_json_key_lit(w, "Min");
    ag_json_double(w, m->min);
    ag_json_key_lit(w, "Count");
    ag_json_double(w, m->count);
    ag_json_key_lit(w, "Sum");
    ag_json_double(w, m->sum);
    ag_json_obj_close(w);
}

/*
 * Writes the directives of |n| metrics: one with every metric (no declarations), or one per set
 * of matching declarations. Returns the number written (>= 0) or AG_ENOMEM.
 */
static long write_directives(struct run *r, struct ag_json *w, const struct group *g,
                             struct mval *const *ms, size_t n)
{
    const struct ex_cw_emf *t = r->t;
    struct dims d = {0};
    int e;
    if (t->n_decls == 0) {
        if ((e = plain_dims(r, g, &d)) != 0) {
            return e;
        }
        if (d.n == 0) {
            return 0;
        }
        write_directive(w, g, &d, ms, n, NULL, 0);
        return 1;
    }
    size_t nd = t->n_decls;
    unsigned char *applies = ag_arena_calloc(r->a, nd);
    unsigned char *match = ag_arena_calloc(r->a, n * nd);
    unsigned char *pick = ag_arena_calloc(r->a, n + 1);
    if (applies == NULL || match == NULL || pick == NULL) {
        return AG_ENOMEM;
    }
    bool any = false;
    for (size_t i = 0; i < nd; i++) {
        applies[i] = decl_applies(r, g, &t->decls[i]);
        any = any || applies[i];
    }
    if (r->err != 0) {
        return r->err;
    }
    if (!any) {
        return 0;
    }
    /* Metrics with the same list of matching declarations share a directive. pick[i] = the
     * directive number + 1 of metric i, 0 for none. */
    unsigned char next = 0;
    long written = 0;
    for (size_t i = 0; i < n; i++) {
        bool some = false;
        for (size_t j = 0; j < nd; j++) {
            match[i * nd + j] = applies[j] && decl_selects(&t->decls[j], ms[i]->name);
            some = some || match[i * nd + j];
        }
        if (!some) {
            continue;
        }
        for (size_t k = 0; k < i && pick[i] == 0; k++) {
            if (pick[k] != 0 && memcmp(&match[k * nd], &match[i * nd], nd) == 0) {
                pick[i] = pick[k];
            }
        }
        if (pick[i] == 0) {
            pick[i] = ++next;
        }
    }
    /* Then one directive per distinct list, in order of first appearance. */
    for (size_t i = 0; i < n; i++) {
        bool first = pick[i] != 0;
        for (size_t k = 0; k < i && first; k++) {
            first = pick[k] != pick[i];
        }
        if (!first) {
            continue;
        }
        struct dims dd = {0};
        for (size_t j = 0; j < nd; j++) {
            const struct decl *dc = &t->decls[j];
            for (size_t s = 0; match[i * nd + j] && s < dc->n_sets; s++) {
                size_t idx[EX_CW_EMF_MAX_DECL_DIMS];
                bool all = true;
                for (size_t q = 0; q < dc->set_n[s] && all; q++) {
                    long li = label_index(g, dc->sets[s][q]);
                    all = li >= 0;
                    idx[q] = (size_t)li;
                }
                if (all && (e = dims_add(r, g, &dd, idx, dc->set_n[s])) != 0) {
                    return e;
                }
            }
        }
        if ((e = add_rollup(r, g, &dd)) != 0) {
            return e;
        }
        if (dd.n == 0) {
            continue; /* upstream: no directive without dimensions */
        }
        write_directive(w, g, &dd, ms, n, pick, pick[i]);
        written++;
    }
    return written;
}

/*
 * Starts the writer of the directives' side buffer in the event's own form, so the array goes
 * into the event as it is (ag_json_raw_out()) instead of being escaped a second time. In both
 * forms the limit is max_event bytes of plain text (the buffer's cap leaves room for the
 * escaping), so `otterd translate --to emf` splits exactly where the exporter does.
 */
static void side_init(const struct run *r, struct ag_json *sw, struct ag_buf *side)
{
    if (r->escaped) {
        ag_json_init_escaped(sw, side);
    } else {
        ag_json_init(sw, side);
    }
    ag_json_set_limit(sw, r->t->max_event);
}

static int render(struct run *r, const struct group *g, struct mval *const *ms, size_t n,
                  bool *too_big)
{
    struct ag_json w;
    *too_big = false;
    ag_buf_reset(&r->out);
    if (r->escaped) {
        /* The limit is on the plain text, as the buffer's cap is for plain events. */
        ag_json_init_escaped(&w, &r->out);
        ag_json_set_limit(&w, r->t->max_event);
    } else {
        ag_json_init(&w, &r->out);
    }
    ag_json_obj_open(&w);
    for (size_t i = 0; i < g->n_labels; i++) {
        const struct label *l = &g->labels[i];
        ag_json_keyn(&w, l->k, l->kl);
        if (l->raw_json) {
            ag_json_raw(&w, l->v, l->vl);
        } else {
            ag_json_strn(&w, l->v, l->vl);
        }
    }
    if (g->prom_type != NULL) {
        ag_json_key_lit(&w, "prom_metric_type");
        ag_json_str(&w, g->prom_type);
    }
    for (size_t i = 0; i < n; i++) {
        write_value(&w, ms[i]);
    }
    /* The directives go to a side buffer first: the array (and in version 1 the _aws object
     * around it) is written only if a directive follows. */
    struct ag_buf *side = &r->side;
    struct ag_json sw;
    ag_buf_reset(side);
    side_init(r, &sw, side);
    ag_json_arr_open(&sw);
    long nd = write_directives(r, &sw, g, ms, n);
    ag_json_arr_close(&sw);
    int fe = ag_json_finish(&sw);
    if (nd < 0 || fe == AG_ENOMEM) {
        ag_buf_cleanup(&r->out);
        return nd < 0 ? (int)nd : fe;
    }
    *too_big = fe == AG_ETOOBIG;
    bool dirs = !*too_big && nd > 0;
    if (r->t->version == 0) {
        char ts[24];
        snprintf(ts, sizeof(ts), "%" PRId64, g->ts);
        ag_json_key_lit(&w, "Version");
        ag_json_str(&w, "0");
        ag_json_key_lit(&w, "Timestamp");
        ag_json_str(&w, ts);
        if (dirs) {
            ag_json_key_lit(&w, "CloudWatchMetrics");
            ag_json_raw_out(&w, ag_buf_str(side), side->len, sw.written);
        }
    } else if (dirs) {
        ag_json_key_lit(&w, "Version");
        ag_json_str(&w, "1");
        ag_json_key_lit(&w, "_aws");
        ag_json_obj_open(&w);
        ag_json_key_lit(&w, "CloudWatchMetrics");
        ag_json_raw_out(&w, ag_buf_str(side), side->len, sw.written);
        ag_json_key_lit(&w, "Timestamp");
        ag_json_int(&w, g->ts);
        ag_json_obj_close(&w);
    }
    ag_json_obj_close(&w);
    int e = ag_json_finish(&w);
    if (e == AG_ETOOBIG || *too_big) {
        *too_big = true;
        ag_buf_cleanup(&r->out);
        return 0;
    }
    r->out_plain = w.written;
    return e;
}

/* Emits |ms[0..n)| as one event, halving until each part fits max_event_bytes. */
static int emit_chunk(struct run *r, const struct group *g, struct mval *const *ms, size_t n,
                      void *arg)
{
    bool too_big;
    int e = render(r, g, ms, n, &too_big);
    if (e != 0) {
        return e;
    }
    if (too_big) {
        if (n == 1) {
            r->res->dropped[EX_CW_EMF_DROP_TOO_BIG]++;
            return 0;
        }
        e = emit_chunk(r, g, ms, n / 2, arg);
        return e != 0 ? e : emit_chunk(r, g, ms + n / 2, n - n / 2, arg);
    }
    e = r->escaped
            ? r->esink(arg, g->lg, g->ls, g->ts, ag_buf_str(&r->out), r->out.len, r->out_plain)
            : r->sink(arg, g->lg, g->ls, g->ts, ag_buf_str(&r->out), r->out.len);
    if (e == 0) {
        r->res->events++;
    }
    return e;
}

static int emit_group(struct run *r, const struct group *g, void *arg)
{
    struct mval **ms = ag_arena_alloc(r->a, (g->n + 1) * sizeof(*ms));
    if (ms == NULL) {
        return AG_ENOMEM;
    }
    size_t n = 0;
    for (struct mval *m = g->head; m != NULL; m = m->next) {
        ms[n++] = m;
    }
    for (size_t from = 0; from < n; from += EX_CW_EMF_MAX_METRICS) {
        size_t len = n - from < EX_CW_EMF_MAX_METRICS ? n - from : EX_CW_EMF_MAX_METRICS;
        int e = emit_chunk(r, g, ms + from, len, arg);
        if (e != 0) {
            return e;
        }
    }
    return 0;
}

/* Both forms of ex_cw_emf_translate(): exactly one of |sink| and |esink| is set. */
static int translate(struct ex_cw_emf *t, const ProtobufCMessage *req, uint64_t now_ns,
                     ex_cw_emf_sink_fn *sink, ex_cw_emf_esink_fn *esink, void *arg,
                     struct ex_cw_emf_result *res)
{
    const ProtobufCMessageDescriptor *want =
        &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor;
    memset(res, 0, sizeof(*res));
    if (req == NULL || req->descriptor != want) {
        return AG_EINVAL;
    }
    const Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *q =
        (const void *)req;
    struct run r = {.t = t,
                    .now_ns = now_ns,
                    .res = res,
                    .escaped = esink != NULL,
                    .sink = sink,
                    .esink = esink};
    int e = AG_ENOMEM;
    /* Escaping at most multiplies a byte by 7 ("\\u001f"); the writer's limit bounds the plain
     * size. */
    ag_buf_init(&r.out, r.escaped ? 8 * t->max_event + 64 : t->max_event);
    ag_buf_init(&r.kb, (size_t)16 << 20);
    ag_buf_init(&r.side, 8 * t->max_event + 64);
    r.a = ag_arena_new(0);
    if (r.a == NULL) {
        return AG_ENOMEM;
    }
    ex_cw_delta_expire(t->delta, now_ns);
    for (size_t i = 0; i < q->n_resource_metrics; i++) {
        const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = q->resource_metrics[i];
        struct rctx rc = {0};
        if (rm->resource != NULL) {
            rc.rattrs = (const pb_kv *const *)rm->resource->attributes;
            rc.n_rattrs = rm->resource->n_attributes;
        }
        if ((e = resource_names(&r, &rc)) != 0) {
            goto out;
        }
        for (size_t j = 0; j < rm->n_scope_metrics; j++) {
            const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[j];
            rc.scope = sm->scope != NULL && sm->scope->name != NULL && sm->scope->name[0] != '\0'
                           ? sm->scope->name
                           : NULL;
            for (size_t k = 0; k < sm->n_metrics; k++) {
                if ((e = metric(&r, &rc, sm->metrics[k])) != 0) {
                    goto out;
                }
            }
        }
    }
    for (const struct group *g = r.first; g != NULL; g = g->next) {
        if ((e = emit_group(&r, g, arg)) != 0) {
            goto out;
        }
    }
    e = 0;
out:
    ag_buf_cleanup(&r.out);
    ag_buf_cleanup(&r.kb);
    ag_buf_cleanup(&r.side);
    ag_arena_free(r.a);
    return e;
}

int ex_cw_emf_translate(struct ex_cw_emf *t, const ProtobufCMessage *req, uint64_t now_ns,
                        ex_cw_emf_sink_fn *sink, void *arg, struct ex_cw_emf_result *res)
{
    return translate(t, req, now_ns, sink, NULL, arg, res);
}

int ex_cw_emf_translate_escaped(struct ex_cw_emf *t, const ProtobufCMessage *req, uint64_t now_ns,
                                ex_cw_emf_esink_fn *sink, void *arg, struct ex_cw_emf_result *res)
{
    return translate(t, req, now_ns, NULL, sink, arg, res);
}
