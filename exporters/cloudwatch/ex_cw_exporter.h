#ifndef EX_CW_EXPORTER_H
#define EX_CW_EXPORTER_H

#include "ag_component.h"

/*
 * The awscloudwatchlogs exporter: each log record of a logs payload becomes one CloudWatch Logs
 * event (ex_cw_logs: the JSON message, or the body verbatim with raw_log), in the log group and
 * stream the config names after {placeholder} expansion from the record's resource (raw_log EMF
 * bodies go to the group and stream they name). Events are queued (bounded by
 * sending_queue.queue_size * 64 KiB of messages; a full queue refuses with AG_EAGAIN so the
 * receiver answers retryable) and sent by ex_cw_pusher through the shared AWS client ("logs",
 * AWS JSON 1.1). One HTTP client, credentials chain and Logs client per exporter instance.
 *
 * Self-telemetry besides ex_cw_pusher's, labelled exporter="<id>":
 *   otter_exporter_dropped_total{reason="invalid_name"}  records whose group or stream name is
 *                                                        not valid after expansion
 *   otter_exporter_dropped_total{reason="not_emf"}       raw_log + emf_only: bodies not EMF
 *   otter_exporter_dropped_total{reason="encode"}        records whose message could not be
 *                                                        written (nesting too deep)
 */
extern const struct ag_exporter_ops ex_cw_exporter_ops;

#endif /* EX_CW_EXPORTER_H */
