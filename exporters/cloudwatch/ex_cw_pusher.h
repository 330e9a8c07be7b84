#ifndef EX_CW_PUSHER_H
#define EX_CW_PUSHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "ag_err.h"
#include "ex_aws_client.h"

/*
 * The CloudWatch Logs sending half shared by the awscloudwatchlogs and awsemf exporters
 * (specs/emf-cwlogs.md §10, specs/aws.md §5.1): events are queued per (log group, log stream),
 * stable-sorted by timestamp and sent with PutLogEvents in batches filled to the service's real
 * limits (Σ(UTF-8 bytes + 26) ≤ 1,048,576, ≤ 10,000 events, ≤ 24 h between the oldest and the
 * newest event). No sequence token is sent. Before queueing, each event is checked: an empty
 * message, a timestamp older than 14 days or more than 2 h ahead are dropped and counted; a
 * message longer than the per-event limit is cut on a UTF-8 boundary and ends with
 * EX_CW_TRUNCATED_MARKER; invalid UTF-8 is replaced by U+FFFD (as the JSON writer would do, so
 * the size counted is the size sent).
 *
 * A put answered ResourceNotFoundException creates the stream (CreateLogStream), and when the
 * group is missing too the group (CreateLogGroup with the tags, then PutRetentionPolicy when a
 * retention is set), then the stream; ResourceAlreadyExistsException counts as success. Streams
 * created or written are cached; the put is then sent again (once). `rejectedLogEventsInfo` in a
 * 200 answer is read and the rejected events are counted by reason.
 *
 * Full batches leave at once; partial ones when the flush timer fires or on
 * ex_cw_pusher_flush(). At most |max_in_flight| PutLogEvents calls at once. Everything runs on
 * one event loop; nothing here is thread-safe.
 *
 * Self-telemetry, labelled exporter="<id>":
 *   otter_exporter_log_events_sent_total       events PutLogEvents accepted
 *   otter_exporter_log_events_failed_total     events of calls that failed (error in the log)
 *   otter_exporter_log_events_truncated_total  events cut to the per-event limit
 *   otter_exporter_dropped_total{reason=...}   "empty", "too_old", "too_new" (dropped here),
 *                                              "rejected_too_new", "rejected_too_old",
 *                                              "rejected_expired" (dropped by the service)
 */

#define EX_CW_MAX_BATCH_BYTES     1048576u /* Σ(message bytes + 26) per PutLogEvents */
#define EX_CW_EVENT_OVERHEAD      26u      /* bytes the service adds per event */
#define EX_CW_MAX_BATCH_EVENTS    10000u
#define EX_CW_MAX_SPAN_MS         (24ll * 3600 * 1000)      /* newest − oldest in one batch */
#define EX_CW_MAX_AGE_MS          (14ll * 24 * 3600 * 1000) /* older events are dropped */
#define EX_CW_MAX_AHEAD_MS        (2ll * 3600 * 1000)       /* events further ahead are dropped */
#define EX_CW_DEFAULT_EVENT_BYTES 262144u  /* per-event limit (message + 26), default */
#define EX_CW_MAX_EVENT_BYTES     1048576u /* per-event limit, largest accepted */
#define EX_CW_TRUNCATED_MARKER    "[Truncated...]"
#define EX_CW_MAX_NAME_BYTES      512u /* log group and log stream names */
#define EX_CW_MAX_TAGS            50u

/* Starts one call; |done| must run exactly once, later, from the loop. Returns 0, or a negative
 * AG_E* (then |done| never runs). ex_aws_client_call()'s contract. */
typedef int ex_cw_send_fn(void *ctx, const struct ex_aws_call *call, ex_aws_call_fn *done,
                          void *arg);

struct ex_cw_sender {
    ex_cw_send_fn *send;
    void *ctx;
};

/* Returns the wall-clock time in ms since the epoch (tests replace it). */
typedef int64_t ex_cw_clock_fn(void *ctx);

struct ex_cw_tag {
    const char *key;
    const char *value;
};

struct ex_cw_pusher_options {
    const char *id;               /* the exporter id, for logs and metric labels (copied) */
    size_t max_bytes;             /* message bytes queued and in flight; past it pushes are refused
                                     with AG_EAGAIN; 0 = 64 MiB */
    unsigned max_in_flight;       /* PutLogEvents calls at once (num_workers); 0 = 1 */
    size_t max_event_bytes;       /* per-event limit counting the 26 bytes, 0 = 262,144; at most
                                     EX_CW_MAX_EVENT_BYTES, at least 26 + marker + 4 */
    uint64_t flush_interval_ms;   /* partial batches leave after this; 0 = 200 ms */
    uint64_t drain_timeout_ms;    /* ex_cw_pusher_drain()'s limit; 0 = 10 s */
    const char *logs_format;      /* x-amzn-logs-format header ("json/emf"), or NULL (copied) */
    unsigned retention_days;      /* PutRetentionPolicy on groups created here; 0 = none. One of
                                     the values ex_cw_retention_valid() accepts */
    const struct ex_cw_tag *tags; /* CreateLogGroup tags (copied), |n_tags| ≤ EX_CW_MAX_TAGS */
    size_t n_tags;
    ex_cw_clock_fn *clock; /* NULL = the wall clock */
    void *clock_ctx;
};

/* One event to queue. Everything is borrowed for the call. */
struct ex_cw_event {
    const char *group;    /* log group name, NUL-terminated, 1..512 bytes */
    const char *stream;   /* log stream name, NUL-terminated, 1..512 bytes */
    int64_t timestamp_ms; /* ms since the epoch */
    const char *message;  /* |len| bytes, need not be NUL-terminated */
    size_t len;
    /*
     * Optional (NULL = unused): the message already escaped as the content of a JSON string,
     * byte for byte what ag_json_escape() gives for it, |escaped_len| bytes, as the producer could
     * write it in one pass (ag_json_init_escaped()). Then |message| is ignored (may be NULL), |len|
     * is the length of the plain message, which must be valid UTF-8 and within the per-event
     * limit (nothing to cut): the body takes these bytes as they are.
     */
    const char *escaped;
    size_t escaped_len;
};

struct ex_cw_pusher_stats {
    uint64_t calls;            /* PutLogEvents calls started (re-sends included) */
    uint64_t accepted;         /* events queued by ex_cw_pusher_push() */
    uint64_t sent;             /* events the service accepted */
    uint64_t failed;           /* events of failed calls (or left at shutdown) */
    uint64_t truncated;        /* events cut to the per-event limit (then sent as the others) */
    uint64_t dropped_empty;    /* dropped here: empty message */
    uint64_t dropped_too_old;  /* dropped here: older than 14 days */
    uint64_t dropped_too_new;  /* dropped here: more than 2 h ahead */
    uint64_t rejected_too_new; /* dropped by the service (rejectedLogEventsInfo) */
    uint64_t rejected_too_old;
    uint64_t rejected_expired;
    uint64_t groups_created;  /* CreateLogGroup calls that succeeded (AlreadyExists included) */
    uint64_t streams_created; /* CreateLogStream calls that succeeded (AlreadyExists included) */
};

struct ex_cw_pusher;

/*
 * Creates a pusher on |base| that sends through |sender| (copied; its ctx is borrowed and must
 * outlive the pusher). Returns 0 and a new pusher in |*out| (free with ex_cw_pusher_free()), or
 * AG_EINVAL (no base or sender, a bad max_event_bytes, retention or tag count), AG_ENOMEM.
 */
AG_NODISCARD int ex_cw_pusher_new(struct event_base *base, const struct ex_cw_pusher_options *opts,
                                  const struct ex_cw_sender *sender, struct ex_cw_pusher **out);

/* Whether the bytes queued and in flight are below max_bytes. */
bool ex_cw_pusher_has_room(const struct ex_cw_pusher *p);

/*
 * Queues the |n| events of |evs| (borrowed; copied), all or none, and starts the calls of the
 * batches that are full. Events dropped by the checks above count as handled (they are counted,
 * not queued). The bound is checked once, first: one push may pass max_bytes by its own size.
 * Returns 0, or AG_EAGAIN (the queue is full: nothing queued), AG_EINVAL (a missing or bad
 * group or stream name, an escaped message over the per-event limit: nothing queued), AG_ENOMEM
 * (nothing queued).
 */
AG_NODISCARD int ex_cw_pusher_push(struct ex_cw_pusher *p, const struct ex_cw_event *evs, size_t n);

/* Starts calls for everything queued, partial batches included, up to max_in_flight. */
void ex_cw_pusher_flush(struct ex_cw_pusher *p);

/*
 * Sends everything and runs |base| until nothing is queued or in flight, or drain_timeout_ms has
 * passed. Only while the loop is not running (shutdown, tests).
 */
void ex_cw_pusher_drain(struct ex_cw_pusher *p);

/* Events queued and not yet in a call; calls in flight (creations included). */
size_t ex_cw_pusher_queued(const struct ex_cw_pusher *p);
size_t ex_cw_pusher_in_flight(const struct ex_cw_pusher *p);

const struct ex_cw_pusher_stats *ex_cw_pusher_stats(const struct ex_cw_pusher *p);

/*
 * Stops sending: the events still queued are counted failed and freed. Calls in flight are left
 * to the sender, which must fail them (their done callbacks then only count) before
 * ex_cw_pusher_free() runs: ex_aws_client_free() does.
 */
void ex_cw_pusher_close(struct ex_cw_pusher *p);

/* Frees the pusher (closing it first). NULL is a no-op. */
void ex_cw_pusher_free(struct ex_cw_pusher *p);

/* Whether |days| is a retention CloudWatch Logs accepts (0 = never expire is valid too). */
bool ex_cw_retention_valid(long long days);

/* Whether |name| is a valid log group name: 1..512 bytes of [.\-_/#A-Za-z0-9]. */
bool ex_cw_group_name_valid(const char *name);

/* Whether |name| is a valid log stream name: 1..512 bytes, no ':' or '*'. */
bool ex_cw_stream_name_valid(const char *name);

/*
 * Returns the length to keep of the |len| bytes of valid UTF-8 |s| so that it fits in |max|
 * bytes without splitting a character (the largest boundary ≤ max).
 */
size_t ex_cw_utf8_cut(const char *s, size_t len, size_t max);

/*
 * The message CloudWatch receives for the |len| bytes |msg| under a per-event limit of
 * |max_event_bytes| (counting EX_CW_EVENT_OVERHEAD): invalid UTF-8 replaced by U+FFFD, and a
 * message over the limit cut on a character boundary with EX_CW_TRUNCATED_MARKER appended.
 * Returns a new NUL-terminated string in |*out| (|*out_len| bytes; the caller frees it with
 * ag_free()) and sets |*truncated|. Returns 0, or AG_ENOMEM.
 */
AG_NODISCARD int ex_cw_message_fit(const char *msg, size_t len, size_t max_event_bytes, char **out,
                                   size_t *out_len, int *truncated);

/*
 * Parses a 200 PutLogEvents answer (|len| bytes, borrowed) for a batch of |n| events and writes
 * how many the service rejected by reason. Anything not understood rejects nothing. Returns 0, or
 * AG_EPROTO (not a JSON object; the counts are then 0).
 */
struct ex_cw_rejected {
    size_t too_new;
    size_t too_old;
    size_t expired;
};
AG_NODISCARD int ex_cw_parse_rejected(const uint8_t *body, size_t len, size_t n,
                                      struct ex_cw_rejected *out);

#endif /* EX_CW_PUSHER_H */
