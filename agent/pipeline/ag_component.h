#ifndef AG_COMPONENT_H
#define AG_COMPONENT_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "ag_config.h"
#include "ag_err.h"
#include "ag_payload.h"

struct slo_report_at; /* slo/engine/slo_eval.h */

/*
 * How pipeline stages talk: every processor and exporter consumes payloads through one function.
 * A consumer borrows the payload (it takes a reference if it keeps it) and returns 0 when it took
 * responsibility for the data, AG_EAGAIN when it refuses for now (the receiver then answers with
 * a retryable status), or another negative code when the data failed for good (counted).
 */
typedef int ag_consume_fn(void *self, struct ag_payload *p);

struct ag_consumer {
    ag_consume_fn *consume;
    void *self;
};

/* What a component gets at creation. */
struct ag_component_env {
    struct event_base *base;
    const char *id;          /* the component id from the config, e.g. "file/traces" */
    enum ag_signal signal;   /* processors: the pipeline's signal */
    struct ag_consumer next; /* processors: the stage after this one */
};

/*
 * An exporter implementation. One instance per exporter id, shared by every pipeline that names
 * it, on the service's event loop.
 */
struct ag_exporter_ops {
    const char *type;
    /* Creates the exporter from |cfg|; on failure writes a reason to |err|. */
    int (*create)(const struct ag_component_config *cfg, const struct ag_component_env *env,
                  void **out, char *err, size_t errlen);
    ag_consume_fn *consume;
    /* Writes out everything buffered (drain, and the periodic flush). */
    void (*flush)(void *self);
    void (*destroy)(void *self);
    /*
     * Optional (NULL when the exporter has none): takes one X-Ray segment document, already
     * JSON (the awsxray receiver's datagrams, validated by ag_xray_udp_parse()). |doc| is
     * borrowed. Returns 0 when taken, AG_EAGAIN when refused for now, another negative code
     * when refused for good (the caller counts it).
     */
    int (*consume_xray)(void *self, const uint8_t *doc, size_t len);
    /*
     * Optional (the slo exporter; NULL for the others): evaluates every SLO of the exporter at
     * |now_ms| (Unix ms) and appends the evaluations to |at|->slos, growing the array with
     * ag_realloc(); the caller releases each with slo_eval_release() and frees the array.
     * Returns 0 or AG_ENOMEM (|at| then holds what was appended before).
     */
    int (*slo_report)(void *self, int64_t now_ms, struct slo_report_at *at);
};

/* A processor instance: one per pipeline that names it. */
struct ag_processor {
    struct ag_consumer in;     /* where the previous stage sends payloads */
    void (*flush)(void *self); /* drain: send everything held downstream */
    void (*destroy)(void *self);
    void *self;
};

/*
 * The batch processor also sends what it holds once the decoded requests it keeps alive reach
 * this many arena bytes (ag_payload_footprint()), whatever send_batch_size says: decoded
 * protobuf-c requests take ~6x their wire size (a realistic span ~2.8 kB), so the default 8192
 * spans would hold ~25 MB. The items and their order are unchanged; only a batch can end sooner.
 * The collector's batch processor has no such bound (it relies on memory_limiter).
 */
#define AG_BATCH_MAX_HELD_BYTES (8u * 1024 * 1024)

/*
 * Processor constructors. Each returns 0 and fills |out|, or a negative AG_E* with a reason in
 * |err|.
 */
AG_NODISCARD int ag_batch_new(const struct ag_batch_config *cfg, const struct ag_component_env *env,
                              struct ag_processor *out, char *err, size_t errlen);
AG_NODISCARD int ag_memory_limiter_new(const struct ag_memory_limiter_config *cfg,
                                       const struct ag_component_env *env, struct ag_processor *out,
                                       char *err, size_t errlen);
AG_NODISCARD int ag_resource_detection_new(const struct ag_resource_detection_config *cfg,
                                           const struct ag_component_env *env,
                                           struct ag_processor *out, char *err, size_t errlen);

AG_NODISCARD int ag_resource_new(const struct ag_resource_config *cfg,
                                 const struct ag_component_env *env, struct ag_processor *out,
                                 char *err, size_t errlen);
AG_NODISCARD int ag_attributes_new(const struct ag_attributes_config *cfg,
                                   const struct ag_component_env *env, struct ag_processor *out,
                                   char *err, size_t errlen);

/* The nop exporter: counts and discards (benchmarks). */
extern const struct ag_exporter_ops ag_nop_exporter_ops;

#endif /* AG_COMPONENT_H */
