#ifndef EX_CW_LOGS_BATCH_H
#define EX_CW_LOGS_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ag_buf.h"
#include "ag_config.h"
#include "ag_err.h"
#include "ex_cw_pusher.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

/*
 * The awscloudwatchlogs exporter's request -> events step, shared by the exporter and
 * `otterd translate --to cwlogs`: every log record of an OTLP logs request becomes one event
 * (ex_cw_logs: the JSON message, or the body verbatim with raw_log, EMF bodies routed to the group
 * and stream they name) in the log group and stream the config names after {placeholder}
 * expansion. Records that cannot become events are counted by reason, never silently dropped.
 * No I/O.
 */

enum ex_cw_logs_drop {
    EX_CW_LOGS_DROP_INVALID_NAME, /* group or stream name not valid after expansion */
    EX_CW_LOGS_DROP_NOT_EMF,      /* raw_log + emf_only: body not EMF */
    EX_CW_LOGS_DROP_ENCODE,       /* message could not be written (nesting too deep, too big) */
    EX_CW_LOGS_DROP_COUNT_
};

struct ex_cw_logs_pend;

/* Caller-owned scratch, reused from request to request. Fields marked "out" may be read. */
struct ex_cw_logs_batch {
    bool escaped; /* in: default messages go out already escaped for the PutLogEvents body
                     (ex_cw_event.escaped); init sets false (plain messages) */
    struct ex_cw_event *evs;              /* out: |n| events, valid until the next fill */
    size_t n;                             /* out */
    size_t drops[EX_CW_LOGS_DROP_COUNT_]; /* out: records dropped by the last fill, by reason */
    /* do not touch */
    struct ag_buf msgs, names, one;
    struct ag_buf shared; /* the scope and resource members of the current scope's messages */
    size_t shared_plain;  /* their plain length */
    struct ex_cw_logs_pend *pend;
    size_t cap;
};

/* Prepares |b| (no allocation yet). */
void ex_cw_logs_batch_init(struct ex_cw_logs_batch *b);

/* Frees what |b| holds. */
void ex_cw_logs_batch_cleanup(struct ex_cw_logs_batch *b);

/*
 * Converts every record of |req| into b->evs[0 .. b->n) in request order, with the options of
 * |cfg| (raw_log, emf_only, log_group_name, log_stream_name); |now_ms| is the timestamp of records
 * with neither time. The events borrow from |b| and |req| (group and stream from |b|, messages
 * from |b|). With b->escaped, default messages within the per-event limit come escaped
 * (ex_cw_event.escaped), the others plain. Everything is borrowed. Returns 0 (drops counted in
 * b->drops), or AG_ENOMEM / AG_ETOOBIG (scratch caps); then b->n is 0.
 */
AG_NODISCARD int ex_cw_logs_batch_fill(
    struct ex_cw_logs_batch *b, const struct ag_awscloudwatchlogs_config *cfg,
    const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req, int64_t now_ms);

/* Gives back scratch memory above a few MiB after a large request. */
void ex_cw_logs_batch_trim(struct ex_cw_logs_batch *b);

/* A drop reason's label value: "invalid_name", "not_emf", "encode". */
const char *ex_cw_logs_drop_name(enum ex_cw_logs_drop d);

#endif /* EX_CW_LOGS_BATCH_H */
