#ifndef EX_SLO_SINK_H
#define EX_SLO_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "ag_config.h"
#include "ag_err.h"
#include "slo_eval.h"

/*
 * Where the slo exporter's results go (specs/slo.md §7.2, §13; ARCHITECTURE.md): alert changes to
 * the log, a webhook (JSON POST, or Slack-compatible, retried) and SNS Publish (through the AWS
 * layer); and the EMF SLO metrics (slo_cw.h names) to CloudWatch Logs or stdout. Everything runs
 * on the exporter's event loop; a slow or failing sink never blocks the engine and each failure is
 * counted and logged (without secrets), never retried forever.
 */

struct ex_slo_sinks;

/* One SLO's figures for an emission of the EMF SLO metrics. */
struct ex_slo_metric_input {
    const struct slo_eval *eval; /* this instant's evaluation (borrowed for the call) */
    uint64_t good_delta;         /* events counted since the previous emission */
    uint64_t total_delta;
};

/*
 * Creates the sinks |cfg| (borrowed; must outlive the sinks) asks for on |base|. On failure
 * writes a reason to |err|. Returns 0 and a new object in |*out| (free with ex_slo_sinks_free()),
 * or AG_EINVAL, AG_ENOMEM.
 */
AG_NODISCARD int ex_slo_sinks_new(struct event_base *base, const struct ag_slo_config *cfg,
                                  struct ex_slo_sinks **out, char *err, size_t errlen);

/* Frees |s|, failing what is still in flight (counted); NULL is a no-op. */
void ex_slo_sinks_free(struct ex_slo_sinks *s);

/*
 * Tells every alert sink about one change (from the engine's slo_alert_fn): the log at once,
 * webhook and SNS queued and sent asynchronously, each exactly once unless every retry fails.
 */
void ex_slo_sinks_alert(struct ex_slo_sinks *s, const struct slo_alert_event *ev);

/*
 * Emits the EMF SLO metrics of |n| SLOs at |now_ms| (no-op with destination none): GoodCount and
 * TotalCount always (0 included), AttainmentRate, ErrorBudgetRemaining and BurnRate (one per
 * window with data) only when the evaluation has data. Returns 0, or AG_EAGAIN when the queue is
 * full (counted), AG_ENOMEM.
 */
AG_NODISCARD int ex_slo_sinks_metrics(struct ex_slo_sinks *s, int64_t now_ms,
                                      const struct ex_slo_metric_input *in, size_t n);

/* True when no notification or metrics request is in flight or queued (for draining). */
bool ex_slo_sinks_idle(const struct ex_slo_sinks *s);

#endif /* EX_SLO_SINK_H */
