#ifndef EX_SLO_FEED_H
#define EX_SLO_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_err.h"
#include "ag_metrics.h"
#include "slo_eval.h"
#include "slo_sli.h"

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

/*
 * The slo exporter's feed (internal to exporters/slo; tests/bench/slo_bench.c times it): from a
 * decoded ExportTraceServiceRequest to slo_engine_add(), and the one add path every count of the
 * exporter takes (span verdicts and metric increases), with its counters and the warning when
 * the engine refuses. Single-threaded, like the exporter.
 *
 * Per request: service.name and the service's SLOs through the index, their resource matchers
 * once per resource; per span, one pass over its attributes against the service's keyset
 * (slo_sli_keyset_slot), then slo_sli_span_hits_slots(). Verdicts are summed per SLO and minute
 * over the request and added once per sum (the engine's finest bucket is one minute: slo_window
 * rings are 1-minute, Timeslices periods whole minutes), with the latest span end of that minute
 * as the add's time, so the counts and every SLO's clock are those of one add per span (the
 * engine's late/too-old statistics count adds, so they count fewer).
 *
 * Sampled spans (specs/slo.md §2.1): a span whose tracestate records an adjusted count
 * (slo_sampling.h: `ot=th:...`, or the older `ot=p:...`) counts that many events for every SLO
 * whose SLI does not say `sampling: ignore`. Adjusted counts come in 32.32 fixed point; the
 * fraction is carried per SLO, separately for good and bad events, and only whole events reach
 * the engine: good + bad carried < 2 events per SLO, never lost between requests (lost at
 * shutdown: the carry is not checkpointed). A span with no tracestate (or an empty one) costs
 * one byte test. A malformed tracestate counts 1 and is counted (m_ts_malformed) and logged at
 * most every 10 s.
 */

/* A list of OTLP attributes (borrowed) as an slo_attr_fn context (ex_slo_kv_lookup). */
struct ex_slo_kvs {
    Opentelemetry__Proto__Common__V1__KeyValue **kv;
    size_t n;
};

/* slo_attr_fn over a struct ex_slo_kvs (|ctx|; NULL: no attributes): the first attribute named
 * |key| (strings, integers and booleans by value; anything else SLO_ATTR_OTHER). */
void ex_slo_kv_lookup(const void *ctx, const char *key, struct slo_attr *out);

/* One SLO's counts of one request and one minute (ex_slo_feed.c). */
struct ex_slo_acc;

/* One SLO's carried fractions of adjusted counts, in units of 2^-32 event. */
struct ex_slo_frac {
    uint32_t good, bad;
};

struct ex_slo_feed {
    const char *id; /* the exporter's id, for log lines (borrowed) */
    const struct slo_defs *defs;
    const struct slo_sli_index *ix;
    struct slo_engine *eng; /* borrowed; the owner may replace it between calls */
    /* Per SLO: what was added since the owner last cleared them (the EMF SLO metrics). */
    uint64_t *emit_good, *emit_total;
    /* Counters (NULL: not counted): spans looked at, good and total events added, events
     * refused by the engine. */
    struct ag_metric *m_spans, *m_good, *m_total, *m_refused;
    /* Counters (NULL: not counted): spans counted with an adjusted count other than 1; spans
     * whose tracestate could not be read (counted 1). */
    struct ag_metric *m_ts_weighted, *m_ts_malformed;
    uint64_t ts_weighted, ts_malformed; /* the same, for tests */
    uint64_t adds;           /* slo_engine_add() calls made (refused ones included) */
    uint64_t refused;        /* of those, refused by the engine */
    uint64_t refused_events; /* the events of the refused calls */
    /* scratch, sized at init */
    bool *res_ok;              /* per SLO: the current resource's matchers held */
    struct slo_span_hit *hits; /* one span's eligible SLOs */
    struct slo_attr *vals;     /* one span's values of its service's keyset */
    struct ex_slo_acc *acc;    /* per SLO: the request's counts of its current minute */
    size_t *touched, n_touched; /* the SLOs with counts in acc */
    bool *weigh;                /* per SLO: weight spans by their adjusted count */
    struct ex_slo_frac *frac;   /* per SLO: carried fractions of adjusted counts */
    uint64_t warned_refused_ns;
    uint64_t warned_ts_ns;
    /* The last tracestate read and what it said (the spans of one sampler share it): a span
     * with the same bytes is not parsed again. ts_len 0: none (an empty one is never read). */
    char ts_text[64];
    size_t ts_len;
    slo_u128 ts_w;
    int ts_status;
    const char *ts_why;
};

/*
 * Prepares |f| over |defs| and |ix| (borrowed; must outlive |f|) for engine |eng| (borrowed),
 * |id| (borrowed) naming the exporter in log lines; the counters start NULL.
 * Returns 0, or AG_ENOMEM (|f| is then cleaned up).
 */
AG_NODISCARD int ex_slo_feed_init(struct ex_slo_feed *f, const char *id,
                                  const struct slo_defs *defs, const struct slo_sli_index *ix,
                                  struct slo_engine *eng);

/* Frees what ex_slo_feed_init() allocated; a zeroed |f| is a no-op. */
void ex_slo_feed_cleanup(struct ex_slo_feed *f);

/*
 * Feeds request |req| (borrowed) to the engine: every server or consumer span of a resource whose
 * service has spans SLOs, counted when it ended (a span without an end time, or ending after
 * |now_ms|, counts at |now_ms|). Refusals by the engine are counted and logged (at most every
 * 10 s); nothing else can fail.
 */
void ex_slo_feed_traces(struct ex_slo_feed *f,
                        const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest
                            *req,
                        int64_t now_ms);

/* Adds |good| of |total| events to SLO |slo| at |t_ms| through slo_engine_add(), counting them
 * (emit_*, the counters) or, when refused, counting and logging the refusal. */
void ex_slo_feed_add(struct ex_slo_feed *f, size_t slo, int64_t t_ms, uint64_t good,
                     uint64_t total);

#endif /* EX_SLO_FEED_H */
