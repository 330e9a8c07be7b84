#ifndef EX_CW_LOGS_H
#define EX_CW_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_err.h"
#include "ag_otlp.h"
#include "opentelemetry/proto/logs/v1/logs.pb-c.h"

/*
 * Log record -> CloudWatch Logs event for the awscloudwatchlogs exporter
 * (specs/emf-cwlogs.md §11): the JSON message in upstream's key order, the raw_log message, the
 * event timestamp, and the {placeholder} expansion of log group and stream names from resource
 * attributes (§6.2). Pure functions: no I/O, no state.
 */

typedef Opentelemetry__Proto__Logs__V1__LogRecord ex_cw_log_record;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope ex_cw_scope;
typedef Opentelemetry__Proto__Resource__V1__Resource ex_cw_resource;

/*
 * Appends the default message of |rec| to |out|: a JSON object with body, severity_number,
 * severity_text, dropped_attributes_count, flags, trace_id, span_id, attributes, scope
 * ({name, version, attributes}, only when the scope has a name) and resource, in this order,
 * zero and empty values omitted; map keys of attributes, resource and map bodies sorted by bytes
 * (Go's encoding/json order). |scope| and |res| may be NULL. Everything is borrowed.
 * Returns 0, or AG_ETOOBIG (out's cap), AG_ENOMEM, AG_EINVAL (nesting deeper than the JSON
 * writer allows); on failure |out| has been freed (ag_buf's rule).
 */
AG_NODISCARD int ex_cw_logs_message(const ex_cw_log_record *rec, const ex_cw_scope *scope,
                                    const ex_cw_resource *res, struct ag_buf *out);

/*
 * The part of ex_cw_logs_message()'s output every record of one |scope| and |res| shares, written
 * once for all of them: appends ',"scope":{...},"resource":{...}' (each member only when present,
 * nothing at all when neither is) in its final form (HTML-safe escaping applied) to |out|. With
 * |escaped| the text is written escaped as the content of a JSON string (ag_json_init_escaped()),
 * as a PutLogEvents body carries it. Sets |*plain_len| (may be NULL) to the length of the plain
 * text. Same returns as ex_cw_logs_message().
 */
AG_NODISCARD int ex_cw_logs_shared(const ex_cw_scope *scope, const ex_cw_resource *res,
                                   bool escaped, struct ag_buf *out, size_t *plain_len);

/*
 * Appends the message of |rec| to |out| as ex_cw_logs_message() does, with the scope and resource
 * members taken from |shared| (|shared_len| bytes, |shared_plain| plain, that ex_cw_logs_shared()
 * wrote in the same form for the record's scope and resource; borrowed): the same bytes, or with
 * |escaped| the same text escaped as the content of a JSON string. Sets |*plain_len| (may be NULL)
 * to the length of the plain message. Same returns as ex_cw_logs_message().
 */
AG_NODISCARD int ex_cw_logs_message_shared(const ex_cw_log_record *rec, const char *shared,
                                           size_t shared_len, size_t shared_plain, bool escaped,
                                           struct ag_buf *out, size_t *plain_len);

/*
 * Appends the raw_log message of |rec| to |out|: a string body verbatim; other bodies as
 * pdata's AsString() gives them (JSON for maps and arrays, base64 for bytes, "" when unset).
 * Same returns as ex_cw_logs_message().
 */
AG_NODISCARD int ex_cw_logs_raw(const ex_cw_log_record *rec, struct ag_buf *out);

/*
 * Reads EMF routing from a raw_log message (|len| bytes): a JSON object with _aws.LogGroupName
 * (EMF v1) or a top-level log_group_name (EMF v0), and optionally _aws.LogStreamName /
 * log_stream_name. Writes the names (NUL-terminated, "" when absent) to |group| and |stream|
 * (|cap| bytes each). Returns true when the message is EMF (has _aws.CloudWatchMetrics or
 * a v0 log_group_name), else false.
 */
bool ex_cw_logs_emf_route(const char *msg, size_t len, char *group, char *stream, size_t cap);

/* The event timestamp in ms: the record time, else the observed time, else |now_ms|. */
int64_t ex_cw_logs_timestamp(const ex_cw_log_record *rec, int64_t now_ms);

/*
 * Appends |tmpl| to |out| with each {Name} replaced from the resource attributes of |res| (may be
 * NULL): the attribute literally named Name first, then the one §6.2 maps it to ({ClusterName}
 * aws.ecs.cluster.name, {TaskId} aws.ecs.task.id, {NodeName} k8s.node.name, {PodName} pod,
 * {ServiceName} service.name, {ContainerInstanceId} aws.ecs.container.instance.id,
 * {TaskDefinitionFamily} aws.ecs.task.family). A known placeholder with no value becomes
 * "undefined"; an unknown one with no literal attribute stays as written. A NUL is appended.
 * Returns 0, AG_ETOOBIG or AG_ENOMEM.
 */
AG_NODISCARD int ex_cw_logs_name(const char *tmpl, const ex_cw_resource *res, struct ag_buf *out);

#endif /* EX_CW_LOGS_H */
