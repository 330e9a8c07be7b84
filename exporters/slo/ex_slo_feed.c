/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The slo exporter's feed: decoded spans to engine adds (ex_slo_feed.h). This is otterd's hot
 * path for SLOs and what tests/bench/slo-bench times.
 */
#include "ex_slo_feed.h"
#include "ag_log.h"
#include "ag_mem.h"
#include "ag_time.h"
#include "slo_sampling.h"

#include <string.h>

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;

/* An empty accumulator's minute: below any span's (t_ms >= 1). */
#define NO_MINUTE INT64_MIN

/* One SLO's counts within one request for one minute. */
struct ex_slo_acc {
    int64_t minute; /* t_ms / 60000 of every count here; NO_MINUTE when empty */
    int64_t t_ms;   /* the latest span end in that minute: the engine's clock moves as unbatched */
    uint64_t good, total; /* total 0: empty, not in the touched list */
};

/* ---- attributes ------------------------------------------------------------------------------ */

/* |kv|'s value as the SLI code compares it. */
static void kv_value(const KeyValue *kv, struct slo_attr *out)
{
    const Opentelemetry__Proto__Common__V1__AnyValue *v = kv->value;
    if (v == NULL) {
        out->type = SLO_ATTR_OTHER;
        return;
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        out->type = SLO_ATTR_STR;
        out->str = v->string_value;
        out->len = strlen(v->string_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        out->type = SLO_ATTR_INT;
        out->i = v->int_value;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        out->type = SLO_ATTR_BOOL;
        out->i = v->bool_value ? 1 : 0;
        break;
    default:
        out->type = SLO_ATTR_OTHER;
        break;
    }
}

void ex_slo_kv_lookup(const void *ctx, const char *key, struct slo_attr *out)
{
    const struct ex_slo_kvs *a = ctx;
    out->type = SLO_ATTR_NONE;
    for (size_t i = 0; a != NULL && i < a->n; i++) {
        const KeyValue *kv = a->kv[i];
        if (kv != NULL && kv->key != NULL && strcmp(kv->key, key) == 0) {
            kv_value(kv, out);
            return; /* the first occurrence wins, as in the collector */
        }
    }
}

/* Fills |vals| (one per key of |ks|) from a span's attributes in one pass: the first occurrence
 * of each key, SLO_ATTR_NONE for the keys it lacks; stops once every key was found. */
static inline void span_slots(const struct slo_sli_keyset *ks, KeyValue *const *kv, size_t n,
                              struct slo_attr *vals)
{
    for (size_t i = 0; i < ks->n; i++) {
        vals[i].type = SLO_ATTR_NONE;
    }
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        const KeyValue *a = kv[i];
        if (a == NULL || a->key == NULL) {
            continue;
        }
        long slot = slo_sli_keyset_slot(ks, a->key);
        if (slot >= 0 && vals[slot].type == SLO_ATTR_NONE) {
            kv_value(a, &vals[slot]); /* never NONE: a later duplicate is skipped */
            if (++found == ks->n) {
                break;
            }
        }
    }
}

/* ---- adds ------------------------------------------------------------------------------------ */

void ex_slo_feed_add(struct ex_slo_feed *f, size_t slo, int64_t t_ms, uint64_t good,
                     uint64_t total)
{
    f->adds++;
    int rc = slo_engine_add(f->eng, slo, t_ms, good, total);
    if (rc != 0) {
        f->refused++;
        f->refused_events += total;
        ag_metric_add(f->m_refused, total);
        uint64_t now = ag_time_mono_ns();
        if (now - f->warned_refused_ns >= 10000000000ull) {
            f->warned_refused_ns = now;
            ag_log_warn(f->id, "SLO %s: the engine refused %llu events at %lld: %s",
                        f->defs->slos[slo].name, (unsigned long long)total, (long long)t_ms,
                        ag_strerror(rc));
        }
        return;
    }
    f->emit_good[slo] += good;
    f->emit_total[slo] += total;
    ag_metric_add(f->m_good, good);
    ag_metric_add(f->m_total, total);
}

/* acc_count's other cases: SLO |slo|'s accumulator is empty, or holds another minute (whose
 * sum is added first); it then holds |good| of |total| (total >= 1) events. */
static void acc_start(struct ex_slo_feed *f, size_t slo, int64_t t_ms, int64_t minute,
                      uint64_t good, uint64_t total)
{
    struct ex_slo_acc *a = &f->acc[slo];
    if (a->total == 0) {
        f->touched[f->n_touched++] = slo;
    } else {
        ex_slo_feed_add(f, slo, a->t_ms, a->good, a->total);
    }
    a->minute = minute;
    a->t_ms = t_ms;
    a->good = good;
    a->total = total;
}

/* Counts one span's verdict for SLO |slo| at |t_ms| (minute |minute|) in the request's
 * accumulator; a span of another minute than the one held first adds what is held. */
static inline void acc_count(struct ex_slo_feed *f, size_t slo, int64_t t_ms, int64_t minute,
                             bool good)
{
    struct ex_slo_acc *a = &f->acc[slo];
    if (a->minute != minute) { /* empty (NO_MINUTE), or another minute */
        acc_start(f, slo, t_ms, minute, good ? 1 : 0, 1);
        return;
    }
    a->good += good;
    a->total++;
    a->t_ms = t_ms > a->t_ms ? t_ms : a->t_ms;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* acc_count() for a span of adjusted count |w| (32.32 fixed point): the whole events of w plus
 * the carried fraction of SLO |slo|'s good (or bad) events; the rest of the fraction is carried.
 * Good and bad carry apart so that every add keeps good <= total. */
static void acc_count_weighted(struct ex_slo_feed *f, size_t slo, int64_t t_ms, int64_t minute,
                               bool good, slo_u128 w)
{
    uint32_t *carry = good ? &f->frac[slo].good : &f->frac[slo].bad;
    uint64_t sum = (uint64_t)*carry + (uint32_t)w;
    *carry = (uint32_t)sum;
    uint64_t whole = w >> SLO_WEIGHT_FRAC_BITS; /* at most 2^62 (p:62) */
    uint64_t n = sat_add(whole, sum >> SLO_WEIGHT_FRAC_BITS);
    if (n == 0) {
        return; /* zero adjusted count (p:63), or a fraction still carried */
    }
    struct ex_slo_acc *a = &f->acc[slo];
    if (a->minute != minute) {
        acc_start(f, slo, t_ms, minute, good ? n : 0, n);
        return;
    }
    if (good) {
        a->good = sat_add(a->good, n);
    }
    a->total = sat_add(a->total, n);
    a->t_ms = t_ms > a->t_ms ? t_ms : a->t_ms;
}

/* The hits of a span with a tracestate |ts| (not empty): weighted by its adjusted count where
 * the SLO asks for it. Out of line: most spans have no tracestate. */
static __attribute__((noinline)) void count_traced(struct ex_slo_feed *f, const char *ts,
                                                   size_t n_hits, int64_t t, int64_t minute)
{
    slo_u128 w;
    const char *why = NULL;
    enum slo_ts_status st;
    size_t len = strlen(ts);
    if (len == f->ts_len && memcmp(ts, f->ts_text, len) == 0) {
        st = (enum slo_ts_status)f->ts_status;
        w = f->ts_w;
        why = f->ts_why;
    } else {
        st = slo_tracestate_weight(ts, len, &w, &why);
        if (len <= sizeof(f->ts_text)) {
            memcpy(f->ts_text, ts, len);
            f->ts_len = len;
            f->ts_status = (int)st;
            f->ts_w = w;
            f->ts_why = why;
        }
    }
    if (st == SLO_TS_MALFORMED) {
        f->ts_malformed++;
        ag_metric_add(f->m_ts_malformed, 1);
        uint64_t now = ag_time_mono_ns();
        if (f->warned_ts_ns == 0 || now - f->warned_ts_ns >= 10000000000ull) {
            f->warned_ts_ns = now;
            ag_log_warn(f->id, "a span's tracestate was not read (%s): it counts 1 (%llu so far)",
                        why, (unsigned long long)f->ts_malformed);
        }
    } else if (w != SLO_WEIGHT_ONE) {
        f->ts_weighted++;
        ag_metric_add(f->m_ts_weighted, 1);
    }
    for (size_t i = 0; i < n_hits; i++) {
        size_t slo = f->hits[i].slo;
        if (w == SLO_WEIGHT_ONE || !f->weigh[slo]) {
            acc_count(f, slo, t, minute, f->hits[i].good);
        } else {
            acc_count_weighted(f, slo, t, minute, f->hits[i].good, w);
        }
    }
}

/* Adds every accumulated count to the engine and empties the accumulator (end of a request). */
static void acc_flush(struct ex_slo_feed *f)
{
    for (size_t i = 0; i < f->n_touched; i++) {
        struct ex_slo_acc *a = &f->acc[f->touched[i]];
        ex_slo_feed_add(f, f->touched[i], a->t_ms, a->good, a->total);
        a->total = 0;
        a->minute = NO_MINUTE;
    }
    f->n_touched = 0;
}

/* ---- traces ---------------------------------------------------------------------------------- */

/* The service of resource |rs| with spans SLOs, their resource matchers in f->res_ok; NULL when
 * there is none or none of them holds. */
static const struct slo_sli_service *
resource_service(struct ex_slo_feed *f, const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs)
{
    struct ex_slo_kvs res = {NULL, 0};
    if (rs->resource != NULL) {
        res.kv = rs->resource->attributes;
        res.n = rs->resource->n_attributes;
    }
    struct slo_attr svc;
    ex_slo_kv_lookup(&res, "service.name", &svc);
    if (svc.type != SLO_ATTR_STR) {
        return NULL;
    }
    const struct slo_sli_service *svc_ix = slo_sli_service_find(f->ix, svc.str, svc.len);
    if (svc_ix == NULL) {
        return NULL;
    }
    const size_t *cand;
    size_t n_cand = slo_sli_service_slos(svc_ix, &cand);
    size_t n_active = 0;
    for (size_t i = 0; i < n_cand; i++) {
        const struct slo_sli_def *sli = &f->defs->slis[f->defs->slos[cand[i]].sli];
        f->res_ok[cand[i]] = slo_sli_resource_matches(sli, ex_slo_kv_lookup, &res);
        n_active += f->res_ok[cand[i]];
    }
    return n_active > 0 ? svc_ix : NULL;
}

void ex_slo_feed_traces(struct ex_slo_feed *f,
                        const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
                            *req,
                        int64_t now_ms)
{
    uint64_t n_spans = 0;
    for (size_t r = 0; r < req->n_resource_spans; r++) {
        const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[r];
        const struct slo_sli_service *svc = resource_service(f, rs);
        if (svc == NULL) {
            continue;
        }
        const struct slo_sli_keyset *ks = slo_sli_service_keyset(svc);
        for (size_t s = 0; s < rs->n_scope_spans; s++) {
            const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[s];
            n_spans += ss->n_spans;
            for (size_t k = 0; k < ss->n_spans; k++) {
                const Opentelemetry__Proto__Trace__V1__Span *span = ss->spans[k];
                int kind = (int)span->kind;
                if (kind != SLO_SPAN_KIND_SERVER && kind != SLO_SPAN_KIND_CONSUMER) {
                    continue; /* no SLO selects other kinds */
                }
                span_slots(ks, span->attributes, span->n_attributes, f->vals);
                struct slo_span sp = {
                    kind,
                    span->status != NULL &&
                        span->status->code ==
                            OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR,
                    span->start_time_unix_nano,
                    span->end_time_unix_nano,
                    NULL,
                    NULL,
                    NULL};
                size_t n_hits = slo_sli_span_hits_slots(svc, f->res_ok, &sp, f->vals, f->hits);
                if (n_hits == 0) {
                    continue;
                }
                /* A span counts when it ended; one from the future (a skewed clock) counts
                 * now. */
                int64_t t = (int64_t)(span->end_time_unix_nano / 1000000ull);
                if (t <= 0 || t > now_ms) {
                    t = now_ms;
                }
                int64_t minute = t / 60000;
                if (span->trace_state != NULL && span->trace_state[0] != '\0') {
                    count_traced(f, span->trace_state, n_hits, t, minute);
                    continue;
                }
                for (size_t i = 0; i < n_hits; i++) {
                    acc_count(f, f->hits[i].slo, t, minute, f->hits[i].good);
                }
            }
        }
    }
    ag_metric_add(f->m_spans, n_spans);
    acc_flush(f);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

int ex_slo_feed_init(struct ex_slo_feed *f, const char *id, const struct slo_defs *defs,
                     const struct slo_sli_index *ix, struct slo_engine *eng)
{
    memset(f, 0, sizeof(*f));
    f->id = id;
    f->defs = defs;
    f->ix = ix;
    f->eng = eng;
    size_t n = defs->n_slos > 0 ? defs->n_slos : 1;
    size_t nk = slo_sli_max_service_keys(ix);
    f->emit_good = ag_calloc(n, sizeof(*f->emit_good));
    f->emit_total = ag_calloc(n, sizeof(*f->emit_total));
    f->res_ok = ag_calloc(n, sizeof(*f->res_ok));
    f->hits = ag_calloc(n, sizeof(*f->hits)); /* a service has at most n SLOs */
    f->vals = ag_calloc(nk > 0 ? nk : 1, sizeof(*f->vals));
    f->acc = ag_calloc(n, sizeof(*f->acc));
    f->touched = ag_calloc(n, sizeof(*f->touched));
    f->weigh = ag_calloc(n, sizeof(*f->weigh));
    f->frac = ag_calloc(n, sizeof(*f->frac));
    if (f->emit_good == NULL || f->emit_total == NULL || f->res_ok == NULL || f->hits == NULL ||
        f->vals == NULL || f->acc == NULL || f->touched == NULL || f->weigh == NULL ||
        f->frac == NULL) {
        ex_slo_feed_cleanup(f);
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        f->acc[i].minute = NO_MINUTE;
    }
    for (size_t i = 0; i < defs->n_slos; i++) {
        f->weigh[i] = !defs->slis[defs->slos[i].sli].sampling_ignore;
    }
    return 0;
}

void ex_slo_feed_cleanup(struct ex_slo_feed *f)
{
    ag_free(f->emit_good);
    ag_free(f->emit_total);
    ag_free(f->res_ok);
    ag_free(f->hits);
    ag_free(f->vals);
    ag_free(f->acc);
    ag_free(f->touched);
    ag_free(f->weigh);
    ag_free(f->frac);
    memset(f, 0, sizeof(*f));
}
