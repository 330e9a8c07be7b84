#ifndef EX_CW_EMF_EXPORTER_H
#define EX_CW_EMF_EXPORTER_H

#include "ag_component.h"
#include "ag_config.h"
#include "ex_cw_emf.h"

/*
 * The awsemf exporter: each data point of a metrics payload goes through ex_cw_emf (EMF events,
 * one per group, split at CloudWatch's limits), and the events are sent by ex_cw_pusher through
 * the shared AWS client ("logs", AWS JSON 1.1) with `x-amzn-logs-format: json/emf`, queued up to
 * sending_queue.queue_size * 64 KiB (a full queue refuses with AG_EAGAIN so the receiver answers
 * retryable). With `output_destination: stdout` the events are printed, one per line, instead
 * (no AWS client is built).
 *
 * Self-telemetry besides ex_cw_pusher's, labelled exporter="<id>":
 *   otter_exporter_dropped_total{reason=...}   data points or metrics not emitted: "no_value",
 *                                              "nan_inf", "bad_name", "duplicate", "too_big",
 *                                              "delta_oom" (ex_cw_emf_drop_name()), and
 *                                              "invalid_name" (events whose log group or stream
 *                                              is not a valid name after placeholders)
 *   otter_exporter_emf_delta_baseline_total    cumulative points kept only as a delta baseline
 *   otter_exporter_emf_delta_evictions_total{reason="ttl"|"cap"}  delta cache evictions
 *   otter_exporter_emf_dimension_sets_dropped_total  dimension sets CloudWatch would refuse
 */
extern const struct ag_exporter_ops ex_cw_emf_exporter_ops;

/*
 * Fills the translator options from an awsemf config and builds the translator (the arrays
 * it needs for the call are temporary). |cfg| is borrowed. |max_event_bytes| 0 takes the
 * config's max_event_size less the 26 bytes CloudWatch counts per event.
 * Returns 0 and a new translator (ex_cw_emf_free()), AG_EINVAL with |err|, or AG_ENOMEM.
 */
AG_NODISCARD int ex_cw_emf_from_config(const struct ag_awsemf_config *cfg, uint64_t random,
                                       struct ex_cw_emf **out, char *err, size_t errlen);

#endif /* EX_CW_EMF_EXPORTER_H */
