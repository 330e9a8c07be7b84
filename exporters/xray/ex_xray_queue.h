#ifndef EX_XRAY_QUEUE_H
#define EX_XRAY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "ag_err.h"
#include "ex_aws_client.h"
#include "ex_xray_segment.h"

/*
 * The awsxray exporter's sending half: a bounded queue of segment documents, batched into
 * PutTraceSegments calls of at most 50 documents, at most |max_in_flight| calls at once, with
 * the documents a 200 answer lists in UnprocessedTraceSegments sent again up to |max_retries|
 * times. The call itself goes through an ex_xray_sender (the AWS client in otterd, a fake in the
 * unit tests). Everything runs on one event loop; nothing here is thread-safe.
 *
 * Self-telemetry, labelled exporter="<id>":
 *   otter_exporter_documents_sent_total      documents PutTraceSegments accepted
 *   otter_exporter_documents_failed_total    documents of calls that failed (error in the log)
 *   otter_exporter_documents_retried_total   unprocessed documents sent again
 *   otter_exporter_dropped_total{reason="unprocessed"}  still unprocessed after max_retries
 */

#define EX_XRAY_MAX_BATCH_DOCS 50 /* PutTraceSegments' limit (xray.md §13.1) */
/* A document of 64 kB escaped inside a JSON string: JSON text holds no control character, so
 * escaping it again at most doubles it. */
#define EX_XRAY_MAX_ESCAPED_DOC_BYTES (2 * (size_t)EX_XRAY_MAX_DOC_BYTES)
/* The largest request body: 50 escaped documents, with the quotes, commas and the envelope. */
#define EX_XRAY_MAX_BODY_BYTES (EX_XRAY_MAX_BATCH_DOCS * (EX_XRAY_MAX_ESCAPED_DOC_BYTES + 3) + 64)

/* Starts one call; |done| must run exactly once, later, from the loop. Returns 0, or a negative
 * AG_E* (then |done| never runs). ex_aws_client_call()'s contract. */
typedef int ex_xray_send_fn(void *ctx, const struct ex_aws_call *call, ex_aws_call_fn *done,
                            void *arg);

struct ex_xray_sender {
    ex_xray_send_fn *send;
    void *ctx;
};

struct ex_xray_queue_options {
    const char *id;          /* the exporter id, for logs and metric labels (copied) */
    size_t max_bytes;        /* documents queued and in flight; past it has_room() is false */
    unsigned max_in_flight;  /* PutTraceSegments calls at once (num_workers); 0 = 1 */
    unsigned max_retries;    /* re-sends of an unprocessed document */
    uint64_t drain_timeout_ms; /* ex_xray_queue_drain()'s limit; 0 = 10 s */
};

struct ex_xray_queue_stats {
    uint64_t calls;       /* calls started */
    uint64_t sent;        /* documents accepted by the service */
    uint64_t failed;      /* documents of failed calls (or left at shutdown) */
    uint64_t retried;     /* unprocessed documents queued again */
    uint64_t unprocessed; /* documents dropped after max_retries re-sends */
};

struct ex_xray_queue;

/*
 * Creates a queue on |base| that sends through |sender| (copied; its ctx is borrowed and must
 * outlive the queue). Returns 0 and a new queue in |*out| (free with ex_xray_queue_free()), or
 * AG_EINVAL (no base or sender), AG_ENOMEM.
 */
AG_NODISCARD int ex_xray_queue_new(struct event_base *base,
                                   const struct ex_xray_queue_options *opts,
                                   const struct ex_xray_sender *sender,
                                   struct ex_xray_queue **out);

/* Whether the documents queued and in flight are below max_bytes (else refuse: AG_EAGAIN). */
bool ex_xray_queue_has_room(const struct ex_xray_queue *q);

/*
 * Whether |bytes| more (an estimate of what a push will add) fit under max_bytes with the
 * documents queued and in flight. An empty queue takes anything, so a push larger than the
 * whole queue still goes, alone.
 */
bool ex_xray_queue_has_room_for(const struct ex_xray_queue *q, size_t bytes);

/*
 * Queues one document (|len| bytes, borrowed; it may contain newlines), and starts calls.
 * Returns 0, or AG_EPROTO (no top-level "id", or over 64 kB), AG_ENOMEM.
 */
AG_NODISCARD int ex_xray_queue_push_doc(struct ex_xray_queue *q, const char *doc, size_t len);

/*
 * Queues every document of |docs| (|len| bytes of documents, each ended by '\n', as
 * ex_xray_translate() writes them; borrowed), all or none, and starts calls. The bound is checked
 * by the caller with has_room() first, so one push may pass max_bytes by its own size. Documents
 * are kept escaped (as ex_xray_queue_push_escaped() takes them): max_bytes counts those bytes.
 * Returns 0, or AG_EPROTO (a document with no top-level "id", or over 64 kB: nothing queued),
 * AG_ENOMEM (nothing queued).
 */
AG_NODISCARD int ex_xray_queue_push(struct ex_xray_queue *q, const char *docs, size_t len);

/*
 * ex_xray_queue_push() for documents already escaped as the content of a JSON string, as
 * ex_xray_translate() writes them with the escaped option: they go into the request bodies as
 * they are. Each must be at most EX_XRAY_MAX_ESCAPED_DOC_BYTES (its plain form at most 64 kB is
 * the writer's guarantee). Same returns.
 */
AG_NODISCARD int ex_xray_queue_push_escaped(struct ex_xray_queue *q, const char *docs,
                                            size_t len);

/*
 * Makes the pushes that follow one, until ex_xray_queue_release(): they queue without starting a
 * call, and with |keep| false the release takes them all back out, so a payload whose later
 * documents could not be queued (out of memory) leaves nothing behind to be sent twice when it
 * comes again. The event loop must not run in between.
 */
void ex_xray_queue_hold(struct ex_xray_queue *q);

/* Ends the hold: keeps (|keep|) or drops what was pushed since, then starts calls. */
void ex_xray_queue_release(struct ex_xray_queue *q, bool keep);

/* Starts calls for what is queued, up to max_in_flight (the exporter's flush); none while held. */
void ex_xray_queue_pump(struct ex_xray_queue *q);

/*
 * Sends everything and runs |base| until the queue is empty and no call is in flight, or
 * drain_timeout_ms has passed. Only while the loop is not running (shutdown, tests).
 */
void ex_xray_queue_drain(struct ex_xray_queue *q);

/* Documents queued and not yet in a call; documents in calls in flight; calls in flight. */
size_t ex_xray_queue_queued(const struct ex_xray_queue *q);
size_t ex_xray_queue_in_flight_docs(const struct ex_xray_queue *q);
size_t ex_xray_queue_in_flight(const struct ex_xray_queue *q);

const struct ex_xray_queue_stats *ex_xray_queue_stats(const struct ex_xray_queue *q);

/*
 * Stops sending: the documents still queued are counted failed and freed. Calls in flight are
 * left to the sender, which must fail them (their done callbacks then only count) before
 * ex_xray_queue_free() runs: ex_aws_client_free() does.
 */
void ex_xray_queue_close(struct ex_xray_queue *q);

/*
 * Frees the queue. Calls must no longer be in flight (close, then free the sender). NULL: no-op.
 */
void ex_xray_queue_free(struct ex_xray_queue *q);

/* Rate limit for log lines: one per 10 s, the ones held back are counted in the next. */
struct ex_xray_limiter {
    uint64_t last_ns;
    uint64_t held;
};

/* Returns 0 when this line must be held back, else 1 + the lines held back since the last. */
uint64_t ex_xray_limiter_take(struct ex_xray_limiter *l);

/*
 * Finds the top-level "id" of the JSON object |doc| (|len| bytes) and copies its value, which
 * must be 16 lowercase hex digits as X-Ray ids are, to |out|. Returns 0 or AG_EPROTO.
 */
AG_NODISCARD int ex_xray_doc_id(const char *doc, size_t len, char out[17]);

/* ex_xray_doc_id() of a document escaped as the content of a JSON string. */
AG_NODISCARD int ex_xray_doc_id_escaped(const char *doc, size_t len, char out[17]);

#endif /* EX_XRAY_QUEUE_H */
