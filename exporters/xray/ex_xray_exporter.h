#ifndef EX_XRAY_EXPORTER_H
#define EX_XRAY_EXPORTER_H

#include "ag_component.h"

/*
 * The awsxray exporter: each span of a trace payload becomes X-Ray segment documents
 * (ex_xray_translate), queued (bounded by sending_queue.queue_size * 64 KiB; a full queue refuses
 * with AG_EAGAIN so the receiver answers retryable) and sent with PutTraceSegments through the
 * shared AWS client (ex_xray_queue). Raw documents from the awsxray receiver (consume_xray) join
 * the same queue. One HTTP client, credentials chain and X-Ray client per exporter instance.
 *
 * Self-telemetry besides ex_xray_queue's, labelled exporter="<id>":
 *   otter_exporter_dropped_total{reason="invalid_trace_id"}  spans with ids X-Ray refuses
 *   otter_exporter_dropped_total{reason="too_big"}           spans/documents over 64 kB
 *   otter_exporter_dropped_attributes_total                  non-scalar attributes dropped by
 *                                                            index_all_attributes
 *   otter_exporter_trimmed_documents_total                   documents sent without metadata
 */
extern const struct ag_exporter_ops ex_xray_exporter_ops;

#endif /* EX_XRAY_EXPORTER_H */
