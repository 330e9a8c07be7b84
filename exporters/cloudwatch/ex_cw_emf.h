#ifndef EX_CW_EMF_H
#define EX_CW_EMF_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "ag_err.h"
#include "ex_cw_delta.h"

/*
 * OTLP metrics -> CloudWatch Embedded Metric Format events, as the collector's awsemf exporter
 * (emf-cwlogs.md 1-8): labels, type mapping, cumulative -> delta, exponential histograms in
 * chunks, grouping, dimension roll-up, metric_declarations, names, placeholders, units, storage
 * resolution and document versions. Pure logic: the events go to a callback; no I/O.
 *
 * CloudWatch's limits are enforced by splitting, never by producing an invalid event: at most
 * 100 metrics per event (so per directive), 100 values per metric, dimension sets of at most 30
 * valid keys (key <= 250 characters, string value of 1..1024 characters); an event over
 * max_event_bytes is split between its metrics, and a single metric that still does not fit is
 * dropped and counted.
 */

#define EX_CW_EMF_MAX_METRICS         100  /* metric definitions per directive (and per event) */
#define EX_CW_EMF_MAX_DIMS            30   /* keys per dimension set */
#define EX_CW_EMF_MAX_VALUES          100  /* values of one metric (exponential histogram chunks) */
#define EX_CW_EMF_MAX_DECL_DIMS       10   /* declared sets with more names are dropped at load */
#define EX_CW_EMF_MAX_NAME            1024 /* metric name, namespace, dimension value */
#define EX_CW_EMF_MAX_DIM_KEY         250
#define EX_CW_EMF_DEFAULT_EVENT_BYTES (256u * 1024u - 26u) /* PutLogEvents counts 26 per event */

enum ex_cw_emf_rollup {
    EX_CW_EMF_ROLLUP_ZERO_AND_SINGLE = 0, /* ZeroAndSingleDimensionRollup (default) */
    EX_CW_EMF_ROLLUP_SINGLE_ONLY = 1,     /* SingleDimensionRollupOnly */
    EX_CW_EMF_ROLLUP_NONE = 2,            /* NoDimensionRollup, "" or anything else */
};

/* One label matcher of a metric declaration. */
struct ex_cw_emf_matcher_opts {
    const char *const *label_names;
    size_t n_label_names;
    const char *separator; /* NULL = ";" */
    const char *regex;     /* POSIX extended, unanchored search */
};

/* One metric_declarations entry. Every string is borrowed until ex_cw_emf_new() returns. */
struct ex_cw_emf_declaration_opts {
    const char *const *const *dimensions; /* sets of label names */
    const size_t *n_dimensions;           /* size of each set */
    size_t n_sets;
    const char *const *metric_name_selectors; /* POSIX extended regexes, unanchored */
    size_t n_metric_name_selectors;
    const struct ex_cw_emf_matcher_opts *label_matchers;
    size_t n_label_matchers;
};

/* One metric_descriptors entry. */
struct ex_cw_emf_descriptor_opts {
    const char *metric_name;
    const char *unit;
    int overwrite; /* also when the OTLP unit is set */
};

struct ex_cw_emf_options {
    const char *namespace_;      /* NULL/"" = derived from service.namespace/service.name */
    const char *log_group_name;  /* NULL/"" = "/metrics/<namespace>"; placeholders allowed */
    const char *log_stream_name; /* NULL/"" = "otel-stream-<uuid of the translator>" */
    enum ex_cw_emf_rollup rollup;
    const struct ex_cw_emf_declaration_opts *declarations;
    size_t n_declarations; /* 0 = no metric_declarations: every metric gets a directive */
    const struct ex_cw_emf_descriptor_opts *descriptors;
    size_t n_descriptors;
    const char *const *parse_json_encoded_attr_values;
    size_t n_parse_json_encoded_attr_values;
    int detailed_metrics;
    int retain_initial_value_of_delta_metric;
    int resource_to_telemetry_conversion;
    int version;              /* 1 (default) or 0 */
    int omit_invalid_units;   /* drop units outside CloudWatch's enum instead of passing them */
    size_t max_event_bytes;   /* 0 = EX_CW_EMF_DEFAULT_EVENT_BYTES */
    size_t delta_max_entries; /* 0 = EX_CW_DELTA_DEFAULT_MAX_ENTRIES */
    uint64_t delta_ttl_ns;    /* 0 = EX_CW_DELTA_DEFAULT_TTL_NS */
};

/* Points and metrics not emitted, by reason (each a data point unless said otherwise). */
enum ex_cw_emf_drop {
    EX_CW_EMF_DROP_NO_VALUE = 0, /* NO_RECORDED_VALUE flag, or no value at all */
    EX_CW_EMF_DROP_NAN_INF,      /* NaN or +-Inf in a value, sum, min, max or quantile */
    EX_CW_EMF_DROP_BAD_NAME,     /* empty or over-long metric name or namespace; a name that is
                                    a label key or a reserved root key */
    EX_CW_EMF_DROP_DUPLICATE,    /* the same metric name twice in one event: first one wins */
    EX_CW_EMF_DROP_TOO_BIG,      /* one metric's event over max_event_bytes */
    EX_CW_EMF_DROP_DELTA_OOM,    /* the delta cache could not store the series */
    EX_CW_EMF_DROP_COUNT_,
};

struct ex_cw_emf_result {
    size_t events;   /* events handed to the sink */
    size_t points;   /* data points seen */
    size_t baseline; /* cumulative points kept only as a delta baseline */
    size_t dropped[EX_CW_EMF_DROP_COUNT_];
    size_t dimension_sets_dropped; /* sets over 30 keys or with an invalid key/value */
    size_t labels_dropped;         /* labels named _aws, Version, Timestamp,
                                      CloudWatchMetrics or prom_metric_type */
};

/*
 * Receives one event: the log group, log stream, timestamp in ms and the JSON message (no
 * newline). All borrowed for the call. Returns 0 to go on, or a negative code that stops the
 * translation and is returned by ex_cw_emf_translate().
 */
typedef int ex_cw_emf_sink_fn(void *arg, const char *group, const char *stream, int64_t ts_ms,
                              const char *msg, size_t len);

struct ex_cw_emf;

/*
 * Builds a translator from |opts| (borrowed: everything needed is copied; regexes compiled) with
 * its own delta cache and default stream name. |random|, mixed with the clock, seeds the
 * default stream's UUID.
 * Returns 0 and a new translator in |*out| (free it with ex_cw_emf_free()), AG_EINVAL with a
 * message in |err| for a bad regex or option, or AG_ENOMEM.
 */
AG_NODISCARD int ex_cw_emf_new(const struct ex_cw_emf_options *opts, uint64_t random,
                               struct ex_cw_emf **out, char *err, size_t errlen);

/* Frees the translator. ex_cw_emf_free(NULL) is a no-op. */
void ex_cw_emf_free(struct ex_cw_emf *t);

/*
 * Translates every data point of |req| (an ExportMetricsServiceRequest, borrowed) and calls
 * |sink| once per event, in a deterministic order (first appearance of each group). |now_ns| is
 * the wall clock: the timestamp of points without one, and the delta cache's TTL clock.
 * |res| is zeroed first.
 * Returns 0, AG_EINVAL when |req| is not a metrics request, AG_ENOMEM, or the sink's error.
 */
AG_NODISCARD int ex_cw_emf_translate(struct ex_cw_emf *t, const ProtobufCMessage *req,
                                     uint64_t now_ns, ex_cw_emf_sink_fn *sink, void *arg,
                                     struct ex_cw_emf_result *res);

/*
 * Receives one event written escaped as the content of a JSON string (what ag_json_escape() gives
 * for the JSON message): |esc_len| bytes, standing for a plain message of |plain_len| bytes.
 * Otherwise as ex_cw_emf_sink_fn.
 */
typedef int ex_cw_emf_esink_fn(void *arg, const char *group, const char *stream, int64_t ts_ms,
                               const char *esc, size_t esc_len, size_t plain_len);

/*
 * As ex_cw_emf_translate(), with each event written once in the escaped form a PutLogEvents body
 * carries it (ex_cw_event.escaped): the same events, the same limits on their plain size.
 */
AG_NODISCARD int ex_cw_emf_translate_escaped(struct ex_cw_emf *t, const ProtobufCMessage *req,
                                             uint64_t now_ns, ex_cw_emf_esink_fn *sink, void *arg,
                                             struct ex_cw_emf_result *res);

/* The default log stream name ("otel-stream-<uuid>"), valid for the translator's life. */
const char *ex_cw_emf_default_stream(const struct ex_cw_emf *t);

/* Copies the delta cache's counters. */
void ex_cw_emf_delta_stats(const struct ex_cw_emf *t, struct ex_cw_delta_stats *out);

/* Returns the reason's label for self-telemetry ("no_value", "nan_inf", ...). */
const char *ex_cw_emf_drop_name(enum ex_cw_emf_drop reason);

/*
 * Maps an OTLP unit to the EMF one (emf-cwlogs.md 6.3): ms, s, us, By, Bi are translated,
 * anything else passed through. Returns a static string or |unit| itself.
 */
const char *ex_cw_emf_unit(const char *unit);

/* Returns 1 when |unit| is one of CloudWatch's unit names. */
int ex_cw_emf_unit_valid(const char *unit);

#endif /* EX_CW_EMF_H */
