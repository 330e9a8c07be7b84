/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the protobuf decoding of OTLP metrics: ExportMetricsServiceRequest bodies as OTLP/HTTP and
 * OTLP/gRPC receive them. Unpacks into an arena, runs the receiver's checks, and requires a
 * stable re-pack round trip. Seeds: corpus/otlp_pb_metrics/ (written by make_pb_seeds.py).
 */
#include "fuzz_otlp_pb.h"

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ProtobufCMessage *unpack(ProtobufCAllocator *alloc, size_t len, const uint8_t *data)
{
    return (ProtobufCMessage *)opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
        alloc, len, data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_otlp_pb_roundtrip(AG_SIGNAL_METRICS, unpack, data, size);
}
