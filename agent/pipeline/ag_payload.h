#ifndef AG_PAYLOAD_H
#define AG_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "ag_arena.h"
#include "ag_err.h"
#include "ag_otlp.h"

/*
 * A payload is one Export request travelling through the pipelines: the decoded message, the
 * arena that holds it, and its item count. Payloads are reference counted and immutable once
 * built, so one decoded request can feed every pipeline that consumes its signal without a copy.
 * A processor that changes data (batching, splitting, resource detection) builds a new "shell"
 * payload whose top levels are its own and which references its parents for the rest.
 *
 * Payloads live on one event loop: the counts are not atomic.
 */
struct ag_payload {
    unsigned refs;
    enum ag_signal signal;
    struct ag_arena *arena;      /* owns msg and any shell structs; freed with the payload */
    ProtobufCMessage *msg;       /* an Export{Trace,Metrics,Logs}ServiceRequest */
    size_t items;                /* spans, data points or log records */
    size_t accounted;            /* arena bytes counted in the in-flight total */
    struct ag_payload **parents; /* payloads whose memory msg points into (each holds a ref) */
    size_t n_parents;
};

/*
 * Wraps a decoded request. Takes ownership of |arena| (even on failure). |items| is the count
 * ag_otlp_count_items() gives. Returns the payload with one reference, or NULL on OOM.
 */
struct ag_payload *ag_payload_new(enum ag_signal signal, struct ag_arena *arena,
                                  ProtobufCMessage *msg, size_t items);

/* Takes one more reference and returns |p|. */
struct ag_payload *ag_payload_ref(struct ag_payload *p);

/* Drops one reference; the last one frees the payload, its arena and its parents' refs. */
void ag_payload_unref(struct ag_payload *p);

/*
 * Brings the in-flight total up to date after |p|'s arena grew (a processor allocated in it).
 */
void ag_payload_account(struct ag_payload *p);

/*
 * Returns the arena bytes |p| keeps alive: its own arena and, recursively, its parents'. A parent
 * shared by several payloads (the chunks of one split request) counts in each of them, so the
 * sum over several payloads is an upper bound.
 */
size_t ag_payload_footprint(const struct ag_payload *p);

/*
 * Returns the bytes all live payloads hold (their arenas), for the memory limiter, the global
 * in-flight bound and the otter_queue_bytes gauge.
 */
size_t ag_payload_bytes_in_flight(void);

/*
 * Builds one payload that contains every resource of the |n| payloads in |parts| (all of the same
 * signal), without copying them. Takes a reference on each part. Returns the payload or NULL.
 */
struct ag_payload *ag_payload_merge(struct ag_payload **parts, size_t n);

/*
 * Splits |p| into payloads of at most |max| items each, in order, sharing p's memory. A
 * metric whose data points do not fit is cut: the chunk takes the points that fit (a copy of
 * the metric in the chunk's arena, its name, unit and type kept) and the next chunk starts with
 * the rest, as the collector's batch processor splits. Returns the number of chunks written to
 * |out| (a new array the caller frees with ag_free(); each chunk has one reference), or
 * AG_ENOMEM.
 */
long ag_payload_split(struct ag_payload *p, size_t max, struct ag_payload ***out);

/*
 * Returns a shell payload of |p| in which every resource is a private copy, so its attributes
 * can be changed without touching |p|. The copies' attribute arrays have room for |extra| more
 * attributes (allocated in the shell's arena). Returns the shell (one reference) or NULL.
 */
struct ag_payload *ag_payload_own_resources(struct ag_payload *p, size_t extra);

/*
 * Visits each Resource of a payload (NULL resources are created empty in its arena first, which
 * is why this needs a shell from ag_payload_own_resources()). The callback may replace
 * res->attributes with an array allocated in |p->arena|; it returns 0, or an error that stops
 * the visit and is returned.
 */
typedef int ag_payload_resource_fn(struct ag_payload *p, ProtobufCMessage *resource, void *arg);
AG_NODISCARD int ag_payload_foreach_resource(struct ag_payload *p, ag_payload_resource_fn *fn,
                                             void *arg);

/*
 * What the processors that change resources do with each payload: a shell of |p| with its own
 * resources (room for |extra| more attributes each), |fn| on each of them, then the shell handed
 * to |consume|(|self|, shell) and its reference dropped. Returns what |consume| returns, or the
 * error of the copy or of |fn| (then nothing is handed on).
 */
AG_NODISCARD int ag_payload_edit_resources(struct ag_payload *p, size_t extra,
                                           ag_payload_resource_fn *fn, void *arg,
                                           int (*consume)(void *self, struct ag_payload *shell),
                                           void *self);

/*
 * The same for the items' own attributes (spans, log records, metric data points): a shell of
 * |p| whose every item is a shallow copy with a private attribute array (room for |extra| more),
 * |fn| called with each item's array and count, then the shell handed to |consume| as above.
 * Resources are shared, not copied.
 */
typedef int ag_payload_attrs_fn(struct ag_payload *shell, ProtobufCMessage ***attrs, size_t *n,
                                void *arg);
AG_NODISCARD int
ag_payload_edit_item_attributes(struct ag_payload *p, size_t extra, ag_payload_attrs_fn *fn,
                                void *arg, int (*consume)(void *self, struct ag_payload *shell),
                                void *self);

#endif /* AG_PAYLOAD_H */
