#ifndef BENCH_INT_H
#define BENCH_INT_H

#include <stdint.h>

#include "opentelemetry/proto/common/v1/common.pb-c.h"

/* Helpers shared by the benchmark's request builders (bench_spans.c, bench_signals.c). */

#define BENCH_RESOURCE_ATTRS 10

/* Resource attributes of the realistic shapes, as an SDK-instrumented service sends them. */
extern const char *const bench_realistic_resource[BENCH_RESOURCE_ATTRS][2];

/* splitmix64 of |x|. */
uint64_t bench_mix64(uint64_t x);

/* Writes |v| big-endian to |p| (8 bytes). */
void bench_put_be64(uint8_t *p, uint64_t v);

/* Fills |kv| (and its value |av|) with a string or an int attribute; |key|, |value| borrowed. */
void bench_set_str(Opentelemetry__Proto__Common__V1__KeyValue *kv,
                   Opentelemetry__Proto__Common__V1__AnyValue *av, const char *key,
                   const char *value);
void bench_set_int(Opentelemetry__Proto__Common__V1__KeyValue *kv,
                   Opentelemetry__Proto__Common__V1__AnyValue *av, const char *key, int64_t value);

#endif /* BENCH_INT_H */
