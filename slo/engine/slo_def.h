#ifndef SLO_DEF_H
#define SLO_DEF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "slo_budget.h"
#include "slo_decimal.h"
#include "slo_window.h"

/*
 * SLO definitions (specs/slo.md §13): OpenSLO v1 documents (SLO, SLI, AlertPolicy, AlertCondition,
 * AlertNotificationTarget) and Otter's own `otter/v1` SLO documents, from YAML text the caller
 * read, into the definitions the engine evaluates. Pure: no I/O, no clock.
 *
 * Use: slo_defs_new(), slo_defs_add() once per file (a multi-document YAML stream; OpenSLO and
 * Otter documents may be mixed), then slo_defs_finish() once, which resolves references by name
 * across every file added (an SLO naming an SLI, an AlertPolicy naming conditions and targets)
 * and checks the conditions (never-firing thresholds, alert windows longer than the SLO window).
 * Diagnostics are appended to the caller's buffer one per line as
 * "file:line:col: error: ..." or "file:line:col: warning: ...", as otterd's config does.
 */

#define SLO_DEF_MAX_ERRORS 50u /* per file; then "too many errors" */

enum slo_def_format {
    SLO_DEF_OTTER,   /* apiVersion: otter/v1 */
    SLO_DEF_OPENSLO, /* apiVersion: openslo/v1 */
};

enum slo_budgeting {
    SLO_BUDGETING_OCCURRENCES,
    SLO_BUDGETING_TIMESLICES,
    SLO_BUDGETING_RATIO_TIMESLICES,
};

/* Where an SLI's counts come from in otterd's data. */
enum slo_sli_source {
    SLO_SRC_EXTERNAL,  /* an OpenSLO metricSource otterd does not read (kept for reports) */
    SLO_SRC_SPANS,     /* server and consumer spans of a service */
    SLO_SRC_COUNTERS,  /* two counters: good / total or bad / total */
    SLO_SRC_HISTOGRAM, /* good = cumulative count at or below a bucket bound */
};

/* What makes a span good. */
enum slo_span_check {
    SLO_SPAN_AVAILABILITY, /* bad: status ERROR or an HTTP status class in bad_http_classes */
    SLO_SPAN_LATENCY,      /* good: duration <= latency_ms (inclusive) */
};

/* An attribute that must equal a value. Strings owned by the slo_defs. */
struct slo_matcher {
    char *key;
    char *value;
};

/* One metric selector: a metric name and attribute matchers. */
struct slo_metric_sel {
    char *name; /* NULL when absent */
    struct slo_matcher *match;
    size_t n_match;
};

struct slo_sli_def {
    char *name;              /* owned; "<slo>-sli" for an inline Otter SLI */
    const char *file;        /* borrowed from the slo_defs */
    int line, col;           /* the document or mapping that defined it */
    enum slo_def_format format;
    bool threshold_metric;   /* OpenSLO thresholdMetric (else a ratio) */
    enum slo_sli_source source;
    char *external_type;     /* OpenSLO metricSource.type, or NULL */
    /* SLO_SRC_SPANS */
    char *service;
    struct slo_matcher *resource; /* resource attributes */
    size_t n_resource;
    struct slo_matcher *attributes; /* span attributes */
    size_t n_attributes;
    bool kind_server, kind_consumer;
    enum slo_span_check span_check;
    unsigned bad_http_classes;    /* bit k: HTTP status class kxx is bad (default 1 << 5) */
    bool status_error_bad;        /* span status ERROR is bad (default true) */
    uint64_t latency_ms;          /* SLO_SPAN_LATENCY */
    bool sampling_ignore;         /* `sampling: ignore`: every span counts 1; by default
                                   * (`adjustedCount`) a span counts its adjusted count from its
                                   * tracestate (slo_sampling.h) */
    /* SLO_SRC_COUNTERS: good/total or bad/total (the unused one has name NULL) */
    struct slo_metric_sel good, bad, total;
    /* SLO_SRC_HISTOGRAM */
    struct slo_metric_sel histogram;
    struct slo_decimal bucket_bound; /* in the histogram's unit */
};

/* What an alert compares (specs/slo.md §7.1, §7.2). */
enum slo_alert_kind {
    SLO_ALERT_BURN_RATE, /* burn over long_ms (AND short_ms) above threshold */
    SLO_ALERT_BUDGET,    /* the SLO's remaining budget fraction below budget_below (strict) */
    SLO_ALERT_TTE,       /* the time to exhaustion over long_ms's burn below tte_below_ms */
    SLO_ALERT_DROP,      /* the remaining budget fraction fell by more than drop within drop_ms
                          * (Nobl9's budgetDrop; strict) */
};

/* One alert condition flattened from a policy: burn over a long window, AND over a short one
 * when short_ms > 0 (Otter's multiwindow pair); or a budget or time-to-exhaustion condition. */
struct slo_alert_def {
    char *name;            /* owned: the policy or Otter alert name */
    char *severity;        /* owned: "page", "ticket", ... */
    const char *file;
    int line, col;         /* the condition */
    enum slo_alert_kind kind;
    struct slo_decimal budget_below; /* SLO_ALERT_BUDGET: a fraction in (0, 1] */
    uint64_t tte_below_ms;           /* SLO_ALERT_TTE: fires when TTE < this */
    struct slo_decimal drop;         /* SLO_ALERT_DROP: a fraction of the budget, > 0 ("5%" is
                                      * 1/20; above 1 only once the budget is overspent) */
    uint64_t drop_ms;                /* SLO_ALERT_DROP: the lookback (whole minutes) */
    char *drop_text;                 /* SLO_ALERT_DROP: the lookback as written ("1h") */
    uint64_t cool_down_ms;           /* a resolved alert fires again only this long after its
                                      * last resolve (0: at once) */
    struct slo_decimal threshold;    /* SLO_ALERT_BURN_RATE */
    bool inclusive;        /* OpenSLO op gte: fires on burn >= threshold (Otter: strict >) */
    uint64_t long_ms;      /* burn rate: the long window; TTE: the lookback; budget, drop: 0 */
    uint64_t short_ms;     /* 0: a single window */
    char *long_text;       /* as written ("1h"): the report's burn_rates key */
    char *short_text;      /* or NULL */
    uint64_t min_events;   /* long window guard (§7.3) */
    uint64_t min_bad;
    char **targets;        /* notification target names (resolved) */
    size_t n_targets;
};

struct slo_slo_def {
    char *name;
    char *display_name;     /* or NULL */
    char *service;          /* or NULL; after slo_defs_finish() the span SLI's service when
                             * the SLO names none */
    const char *file;
    int line, col;
    enum slo_def_format format;
    struct slo_decimal objective; /* a fraction of 1 */
    bool has_op;                  /* OpenSLO thresholdMetric: the SLI is good when "SLI op value" */
    char op[4];                   /* "lt", "lte", "gt", "gte" */
    struct slo_decimal op_value;
    enum slo_budgeting budgeting;
    bool calendar;                /* else rolling */
    uint64_t window_ms;           /* rolling length; the calendar period's shortest length */
    char *window_text;            /* as written: "30d", "1M" */
    enum slo_calendar_unit calendar_unit;
    int32_t utc_offset_s;         /* calendar time zone as a fixed offset (tz NULL) */
    char *tz_name;                /* an IANA zone name as written ("Europe/Berlin"), or NULL */
    const struct slo_tz *tz;      /* its rules (owned by the slo_defs), or NULL: fixed offset */
    uint64_t slice_ms;            /* Timeslices: the period */
    struct slo_decimal slice_target; /* Timeslices: a period is good at >= this (fraction) */
    uint64_t slice_grace_ms;      /* Timeslices: a period is judged at its end plus this; late
                                   * data until then still counts (0: at its end) */
    enum slo_missing_policy missing;
    struct slo_decimal warning;   /* WARNING below this fraction of budget left; default 0.5 */
    size_t sli;                   /* index into slo_defs.slis (after slo_defs_finish) */
    struct slo_alert_def *alerts;
    size_t n_alerts;
};

struct slo_target_def {
    char *name;
    char *target; /* OpenSLO spec.target ("slack", ...), or NULL */
    const char *file;
    int line, col;
};

struct slo_defs_file {
    char *name;
    size_t n_errors;
    size_t n_warnings;
    size_t n_slos;
};

struct slo_defs_priv;
struct slo_tz;

/*
 * Resolves an IANA zone name ("Europe/Berlin", already checked to be letters, digits, '_', '-',
 * '+' and '/'-separated non-empty parts) to the bytes of its TZif file, appended to |out|.
 * Returns 0, AG_ENOTFOUND when there is no such zone, or another AG_E* code (AG_EIO, AG_ETOOBIG,
 * AG_ENOMEM); |why| (may be NULL) may receive one line saying what went wrong.
 * slo_tz_load_system() (slo_tz.h) reads the system's zone database.
 */
typedef int (*slo_tz_loader_fn)(void *arg, const char *name, struct ag_buf *out,
                                struct ag_buf *why);

/* Everything added so far; read the public arrays after slo_defs_finish() returned 0. */
struct slo_defs {
    struct slo_slo_def *slos;
    size_t n_slos;
    struct slo_sli_def *slis;
    size_t n_slis;
    struct slo_target_def *targets;
    size_t n_targets;
    struct slo_defs_file *files;
    size_t n_files;
    size_t n_errors;
    size_t n_warnings;
    struct slo_defs_priv *priv; /* pending references, policies and conditions */
};

/*
 * Allocates an empty set into |*out| (free with slo_defs_free()). |diag| (borrowed; may be NULL)
 * receives every diagnostic of later calls and must outlive the set.
 * Returns 0 or AG_ENOMEM.
 */
AG_NODISCARD int slo_defs_new(struct ag_buf *diag, struct slo_defs **out);

/* Frees |d| and everything it owns. slo_defs_free(NULL) is a no-op. */
void slo_defs_free(struct slo_defs *d);

/*
 * Sets the function that resolves IANA zone names (calendar timeZone) to TZif bytes, called
 * once per distinct name during slo_defs_add(); the zones are kept by |d|. Without a loader (the
 * default: slo_def does no I/O) an IANA name is an error naming the zone. The `slo` command and
 * otterd pass slo_tz_load_system.
 */
void slo_defs_set_tz_loader(struct slo_defs *d, slo_tz_loader_fn fn, void *arg);

/*
 * Parses |len| bytes of |text| (borrowed; copied where kept), named |file| in diagnostics (copied),
 * and adds its documents to |d|. Errors in the file are counted in |d| and reported, and parsing
 * goes on to report as many as possible.
 * Returns 0 (also when the file had errors: see d->files[i].n_errors), or AG_ENOMEM.
 */
AG_NODISCARD int slo_defs_add(struct slo_defs *d, const char *file, const char *text, size_t len);

/*
 * Resolves references and runs the cross-document checks; call once, after the last add.
 * Returns 0 when no file had an error, AG_EINVAL when some had (each was reported), or
 * AG_ENOMEM.
 */
AG_NODISCARD int slo_defs_finish(struct slo_defs *d);

/*
 * Parses a duration "<digits><unit>" with unit ms, s, m, h, d or w (and, for OpenSLO calendar
 * windows only, M, Q, Y, which this function refuses) into |*ms|. Returns 0 or AG_EINVAL
 * (malformed, zero, or over 10 years).
 */
AG_NODISCARD int slo_duration_parse(const char *text, uint64_t *ms);

/*
 * Parses a time zone that the engine supports: "UTC", "Etc/UTC", "Z", "GMT" or a fixed offset
 * "+HH:MM" / "-HH:MM" (also after "UTC"). Returns 0 and the offset east in seconds, AG_EUNSUPP for
 * an IANA name ("Area/Location": letters, digits, '_', '-', '+', non-empty '/'-separated parts;
 * resolved through the slo_defs' zone loader), or AG_EINVAL.
 */
AG_NODISCARD int slo_tz_parse(const char *text, int32_t *utc_offset_s);

#endif /* SLO_DEF_H */
