#ifndef AG_METRICS_H
#define AG_METRICS_H

#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"

/*
 * otterd's self-telemetry: counters and gauges registered once at start-up, incremented on the
 * hot path with a plain add (no lookup, no lock: the owning loop is the only writer), and
 * rendered as Prometheus text for the admin listener's /metrics. Names are stable and documented
 * in the README.
 */

struct ag_metric;

/* A gauge computed when /metrics is read. */
typedef double ag_metric_gauge_fn(void *arg);

/*
 * Registers (or finds, when the same name and labels were registered before) a counter.
 * |labels| is the label set in Prometheus syntax without braces, e.g.
 * "receiver=\"otlp\",signal=\"traces\"" (may be ""). |help| is the HELP text of the family.
 * Returns the counter, or NULL when out of memory (increments on NULL are ignored).
 */
struct ag_metric *ag_metrics_counter(const char *name, const char *help, const char *labels);

/*
 * A counter of the exporter |id|: labels exporter="<id>", and reason="<reason>" when |reason| is
 * not NULL. Same return as ag_metrics_counter().
 */
struct ag_metric *ag_metrics_exporter_counter(const char *name, const char *help, const char *id,
                                              const char *reason);

/* otter_exporter_dropped_total{exporter=|id|, reason=|reason|}: items an exporter dropped. */
struct ag_metric *ag_metrics_exporter_dropped(const char *id, const char *reason);

/*
 * Registers a gauge whose value is set with ag_metric_set(). Same conventions.
 */
struct ag_metric *ag_metrics_gauge(const char *name, const char *help, const char *labels);

/*
 * Registers a gauge computed by |fn(arg)| at render time. Returns 0 or AG_ENOMEM.
 */
AG_NODISCARD int ag_metrics_gauge_fn(const char *name, const char *help, const char *labels,
                                     ag_metric_gauge_fn *fn, void *arg);

/*
 * Registers a counter whose value is |fn(arg)| at render time (a count kept elsewhere, such as a
 * server's own counters). Returns 0 or AG_ENOMEM.
 */
AG_NODISCARD int ag_metrics_counter_fn(const char *name, const char *help, const char *labels,
                                       ag_metric_gauge_fn *fn, void *arg);

/* Adds |n| to a counter (or a gauge). NULL is ignored. */
void ag_metric_add(struct ag_metric *m, uint64_t n);

/* Sets a gauge. NULL is ignored. */
void ag_metric_set(struct ag_metric *m, double v);

/* Returns the current value (tests). */
double ag_metric_value(const struct ag_metric *m);

/*
 * Appends every metric, grouped by family with HELP and TYPE lines, in registration order.
 * Returns 0 or the ag_buf error.
 */
AG_NODISCARD int ag_metrics_render(struct ag_buf *out);

/*
 * Frees every registered metric (at exit, so leak checkers stay quiet).
 */
void ag_metrics_reset(void);

#endif /* AG_METRICS_H */
