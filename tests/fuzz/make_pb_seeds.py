#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the OTLP protobuf fuzz targets.

Builds realistic Export{Trace,Metrics,Logs}ServiceRequest bodies with the opentelemetry-proto
Python classes (an encoder independent of protobuf-c), plus hand-encoded bodies that the Python
encoder never produces (unpacked repeated scalars, unknown and reserved fields, wrong wire types)
and a few truncated or corrupted variants, into tests/fuzz/corpus/otlp_pb_{traces,metrics,logs}/.
The output is deterministic, so re-running it leaves the committed files unchanged.

Usage: python3 tests/fuzz/make_pb_seeds.py     (needs tests/proto/requirements.txt installed)
"""

import struct
import sys
from pathlib import Path

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_svc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_svc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_svc
from opentelemetry.proto.common.v1 import common_pb2 as common
from opentelemetry.proto.logs.v1 import logs_pb2 as logs
from opentelemetry.proto.metrics.v1 import metrics_pb2 as metrics
from opentelemetry.proto.resource.v1 import resource_pb2 as resource
from opentelemetry.proto.trace.v1 import trace_pb2 as trace

CORPUS = Path(__file__).resolve().parent / "corpus"
MAX_SEED = 20 * 1024
T0 = 1_700_000_000_000_000_000  # a fixed timestamp, so the output does not change between runs
TRACE_ID = bytes(range(1, 17))
SPAN_ID = bytes(range(0x11, 0x19))
PARENT_ID = bytes(range(0x21, 0x29))


# ---- attribute values ---------------------------------------------------------------------------

def anyv(v):
    """Returns an AnyValue for a Python value (str, bool, int, float, bytes, list, dict, None)."""
    a = common.AnyValue()
    if v is None:
        pass
    elif isinstance(v, bool):
        a.bool_value = v
    elif isinstance(v, int):
        a.int_value = v
    elif isinstance(v, float):
        a.double_value = v
    elif isinstance(v, str):
        a.string_value = v
    elif isinstance(v, bytes):
        a.bytes_value = v
    elif isinstance(v, list):
        a.array_value.values.extend(anyv(x) for x in v)
    elif isinstance(v, dict):
        a.kvlist_value.values.extend(kvs(v))
    else:
        raise TypeError(type(v))
    return a


def kvs(d):
    out = []
    for k, v in d.items():
        kv = common.KeyValue(key=k)
        if v is not None:
            kv.value.CopyFrom(anyv(v))
        out.append(kv)
    return out


ALL_KINDS = {
    "str": "value",
    "empty.str": "",
    "bool.true": True,
    "bool.false": False,
    "int": 42,
    "int.negative": -1,  # a 10-byte varint
    "int.min": -(2 ** 63),
    "int.max": 2 ** 63 - 1,
    "double": 3.25,
    "double.negative.zero": -0.0,
    "double.inf": float("inf"),
    "double.nan": float("nan"),
    "bytes": b"\x00\x01\xfe\xff",
    "array": ["a", 1, 2.5, True, b"x", ["nested"], {"k": "v"}],
    "kvlist": {"inner.str": "v", "inner.int": 7, "inner.kv": {"deeper": [1, 2, 3]}},
    "empty.array": [],
    "empty.kvlist": {},
    "no.value": None,
    "unicode": "h\u00e9llo \u4e16\u754c \U0001f9a6",
}


def make_resource(service="checkout", extra=None):
    attrs = {"service.name": service, "service.version": "1.4.2",
             "telemetry.sdk.language": "python", "host.name": "ip-10-0-0-1"}
    attrs.update(extra or {})
    r = resource.Resource(dropped_attributes_count=1)
    r.attributes.extend(kvs(attrs))
    r.entity_refs.add(schema_url="https://opentelemetry.io/schemas/1.26.0", type="service",
                      id_keys=["service.name"], description_keys=["service.version"])
    return r


def make_scope(name="io.otter.seed"):
    s = common.InstrumentationScope(name=name, version="0.1.0", dropped_attributes_count=2)
    s.attributes.extend(kvs({"scope.attr": "x"}))
    return s


# ---- traces -------------------------------------------------------------------------------------

def span(i, kind, parent=b"", attrs=None, status=None):
    s = trace.Span(trace_id=TRACE_ID, span_id=SPAN_ID[:-1] + bytes([i]), parent_span_id=parent,
                   name="span-%d" % i, kind=kind, start_time_unix_nano=T0 + i * 1000,
                   end_time_unix_nano=T0 + i * 1000 + 250_000_000,
                   trace_state="vendor=a,other=b", flags=0x301)
    s.attributes.extend(kvs(attrs or {"http.request.method": "GET", "http.route": "/cart",
                                      "http.response.status_code": 200}))
    if status is not None:
        s.status.CopyFrom(status)
    return s


def traces_seeds():
    seeds = {}

    req = trace_svc.ExportTraceServiceRequest()
    rs = req.resource_spans.add(schema_url="https://opentelemetry.io/schemas/1.26.0")
    rs.resource.CopyFrom(make_resource(extra={"all.kinds": dict(ALL_KINDS)}))
    ss = rs.scope_spans.add(schema_url="https://opentelemetry.io/schemas/1.26.0")
    ss.scope.CopyFrom(make_scope())
    kinds = [trace.Span.SPAN_KIND_UNSPECIFIED, trace.Span.SPAN_KIND_INTERNAL,
             trace.Span.SPAN_KIND_SERVER, trace.Span.SPAN_KIND_CLIENT,
             trace.Span.SPAN_KIND_PRODUCER, trace.Span.SPAN_KIND_CONSUMER]
    codes = [trace.Status.STATUS_CODE_UNSET, trace.Status.STATUS_CODE_OK,
             trace.Status.STATUS_CODE_ERROR]
    for i, kind in enumerate(kinds):
        st = trace.Status(code=codes[i % 3], message="boom" if codes[i % 3] == 2 else "")
        s = span(i + 1, kind, parent=b"" if i == 0 else SPAN_ID[:-1] + b"\x01",
                 attrs=ALL_KINDS if i == 0 else None, status=st)
        s.dropped_attributes_count = i
        s.dropped_events_count = 1
        s.dropped_links_count = 2
        ev = s.events.add(time_unix_nano=T0 + 5, name="exception", dropped_attributes_count=1)
        ev.attributes.extend(kvs({"exception.type": "ValueError",
                                  "exception.message": "bad cart id",
                                  "exception.stacktrace": "Traceback...\n  line 1"}))
        s.events.add(time_unix_nano=T0 + 6, name="no-attrs")
        ln = s.links.add(trace_id=bytes(range(100, 116)), span_id=PARENT_ID, trace_state="k=v",
                         dropped_attributes_count=3, flags=0x101)
        ln.attributes.extend(kvs({"link.kind": "follows_from"}))
        s.links.add(trace_id=TRACE_ID, span_id=PARENT_ID)
        ss.spans.append(s)
    seeds["full.bin"] = req.SerializeToString(deterministic=True)

    minimal = trace_svc.ExportTraceServiceRequest()
    minimal.resource_spans.add().scope_spans.add().spans.add(trace_id=TRACE_ID, span_id=SPAN_ID,
                                                             name="GET /")
    seeds["minimal.bin"] = minimal.SerializeToString(deterministic=True)
    seeds["empty.bin"] = b""

    multi = trace_svc.ExportTraceServiceRequest()
    for r in range(3):
        rs = multi.resource_spans.add()
        rs.resource.CopyFrom(make_resource(service="svc-%d" % r))
        for sc in range(2):
            ss = rs.scope_spans.add()
            ss.scope.name = "scope-%d" % sc
            for i in range(4):
                ss.spans.append(span(r * 8 + sc * 4 + i + 1, trace.Span.SPAN_KIND_SERVER))
    seeds["multi_resource.bin"] = multi.SerializeToString(deterministic=True)

    # Empty containers and zero-length ids are legal; a 5-byte trace id decodes but fails the
    # id-length check.
    odd = trace_svc.ExportTraceServiceRequest()
    odd.resource_spans.add()
    odd.resource_spans.add().scope_spans.add()
    odd.resource_spans.add().scope_spans.add().spans.add()
    seeds["empty_containers.bin"] = odd.SerializeToString(deterministic=True)
    bad = trace_svc.ExportTraceServiceRequest()
    bad.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x01" * 5, span_id=SPAN_ID)
    seeds["bad_id_length.bin"] = bad.SerializeToString(deterministic=True)

    deep = common.AnyValue(string_value="leaf")
    for i in range(24):
        deep = common.AnyValue(array_value=common.ArrayValue(values=[deep])) if i % 2 else \
            common.AnyValue(kvlist_value=common.KeyValueList(
                values=[common.KeyValue(key="k%d" % i, value=deep)]))
    nested = trace_svc.ExportTraceServiceRequest()
    nested.resource_spans.add().scope_spans.add().spans.add(
        trace_id=TRACE_ID, span_id=SPAN_ID, name="deep",
        attributes=[common.KeyValue(key="deep", value=deep)])
    seeds["deep_nesting.bin"] = nested.SerializeToString(deterministic=True)

    # Hand-encoded: an old client's field 1000 (instrumentation_library_spans) on ResourceSpans,
    # an unknown varint and fixed32 on the span, and a span whose flags came as a varint (wrong
    # wire type: protobuf-c rejects it).
    sp = ld(1, TRACE_ID) + ld(2, SPAN_ID) + ld(5, b"legacy") + fixed32(16, 1) + \
        varint_field(99, 12345) + fixed32(98, 7)
    rs_bytes = ld(2, ld(2, sp)) + ld(1000, ld(2, sp))
    seeds["unknown_fields.bin"] = ld(1, rs_bytes)
    wrong = ld(1, TRACE_ID) + ld(2, SPAN_ID) + varint_field(16, 1)
    seeds["wrong_wire_type.bin"] = ld(1, ld(2, ld(2, wrong)))
    # Field number 0 written as a 2-byte key: malformed, but protobuf-c 1.4 keeps it as an
    # unknown field (a libFuzzer find; fuzz_otlp_pb.h explains why the round trip skips it).
    seeds["field0_long_key.bin"] = ld(1, ld(2, ld(2, ld(1, TRACE_ID) + FIELD0_LONG_KEY)))

    full = seeds["full.bin"]
    seeds["truncated.bin"] = full[: len(full) // 2]
    seeds["corrupt_length.bin"] = corrupt_length(full)
    return seeds


# ---- metrics ------------------------------------------------------------------------------------

def exemplars(n):
    out = []
    for i in range(n):
        e = metrics.Exemplar(time_unix_nano=T0 + i, span_id=SPAN_ID, trace_id=TRACE_ID)
        if i % 2:
            e.as_int = -5 - i
        else:
            e.as_double = 0.5 + i
        e.filtered_attributes.extend(kvs({"user.id": "u-%d" % i}))
        out.append(e)
    return out


def point_attrs(i):
    return kvs({"http.route": "/cart/%d" % i, "http.response.status_code": 200 + i})


def metrics_seeds():
    seeds = {}
    req = metrics_svc.ExportMetricsServiceRequest()
    rm = req.resource_metrics.add(schema_url="https://opentelemetry.io/schemas/1.26.0")
    rm.resource.CopyFrom(make_resource(extra={"all.kinds": dict(ALL_KINDS)}))
    sm = rm.scope_metrics.add(schema_url="https://opentelemetry.io/schemas/1.26.0")
    sm.scope.CopyFrom(make_scope())

    g = sm.metrics.add(name="system.memory.usage", description="memory in use", unit="By")
    g.metadata.extend(kvs({"meta": "data"}))
    for i in range(3):
        p = g.gauge.data_points.add(time_unix_nano=T0 + i, start_time_unix_nano=T0)
        p.attributes.extend(point_attrs(i))
        if i == 1:
            p.as_int = -(2 ** 63)
        else:
            p.as_double = 1.5 * i
        p.exemplars.extend(exemplars(2))
    g.gauge.data_points.add(time_unix_nano=T0, flags=1)  # NO_RECORDED_VALUE, no value

    for temporality, mono in ((metrics.AGGREGATION_TEMPORALITY_CUMULATIVE, True),
                              (metrics.AGGREGATION_TEMPORALITY_DELTA, False),
                              (metrics.AGGREGATION_TEMPORALITY_UNSPECIFIED, True)):
        m = sm.metrics.add(name="http.server.requests.%d" % temporality, unit="{request}")
        m.sum.aggregation_temporality = temporality
        m.sum.is_monotonic = mono
        for i in range(2):
            p = m.sum.data_points.add(time_unix_nano=T0 + i, start_time_unix_nano=T0, as_int=i)
            p.attributes.extend(point_attrs(i))

    h = sm.metrics.add(name="http.server.request.duration", unit="s")
    h.histogram.aggregation_temporality = metrics.AGGREGATION_TEMPORALITY_DELTA
    bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
    for i, (s, mn, mx) in enumerate(((12.5, 0.001, 9.0), (0.0, 0.0, 0.0), (None, None, None))):
        p = h.histogram.data_points.add(time_unix_nano=T0 + i, start_time_unix_nano=T0,
                                        count=sum(range(len(bounds) + 1)),
                                        bucket_counts=list(range(len(bounds) + 1)),
                                        explicit_bounds=bounds, flags=0)
        # A present 0 must survive: sum/min/max presence is what the oneofs track.
        if s is not None:
            p.sum, p.min, p.max = s, mn, mx
        p.attributes.extend(point_attrs(i))
        p.exemplars.extend(exemplars(3))
    h.histogram.data_points.add(time_unix_nano=T0, count=0)  # no buckets at all

    e = sm.metrics.add(name="rpc.latency", unit="ms")
    e.exponential_histogram.aggregation_temporality = metrics.AGGREGATION_TEMPORALITY_CUMULATIVE
    for i, scale in enumerate((-10, 0, 3, 20)):
        p = e.exponential_histogram.data_points.add(
            time_unix_nano=T0 + i, start_time_unix_nano=T0, count=40, sum=123.0, scale=scale,
            zero_count=4, zero_threshold=1e-9, min=0.0, max=99.5, flags=0)
        p.positive.offset = -3 + i
        p.positive.bucket_counts.extend([1, 2, 3, 300, 2 ** 40])
        p.negative.offset = -(2 ** 31) if i == 0 else 5
        p.negative.bucket_counts.extend([5, 0, 1])
        p.attributes.extend(point_attrs(i))
        p.exemplars.extend(exemplars(1))

    s = sm.metrics.add(name="legacy.summary", unit="ms")
    p = s.summary.data_points.add(time_unix_nano=T0, start_time_unix_nano=T0, count=10, sum=55.0)
    for q, v in ((0.0, 1.0), (0.5, 5.0), (0.99, 9.9), (1.0, 10.0)):
        p.quantile_values.add(quantile=q, value=v)
    p.attributes.extend(point_attrs(0))
    sm.metrics.add(name="no.data", unit="1")  # a metric with no data case set
    seeds["full.bin"] = req.SerializeToString(deterministic=True)

    for name, fill in (("gauge", lambda m: m.gauge.data_points.add(as_double=1.0)),
                       ("sum", lambda m: m.sum.data_points.add(as_int=5)),
                       ("histogram", lambda m: m.histogram.data_points.add(
                           count=1, sum=0.0, bucket_counts=[0, 1], explicit_bounds=[1.0])),
                       ("exponential_histogram",
                        lambda m: m.exponential_histogram.data_points.add(count=1, scale=-1)),
                       ("summary", lambda m: m.summary.data_points.add(count=1, sum=2.0))):
        one = metrics_svc.ExportMetricsServiceRequest()
        fill(one.resource_metrics.add().scope_metrics.add().metrics.add(name=name))
        seeds["one_%s.bin" % name] = one.SerializeToString(deterministic=True)

    # Hand-encoded: a histogram point whose bucket_counts (fixed64) and explicit_bounds (double)
    # come unpacked, an exponential histogram whose varint bucket_counts come unpacked, and the
    # reserved field 1000 on ResourceMetrics.
    hp = fixed64(4, 3) + fixed64(6, 1) + fixed64(6, 2) + double(7, 1.0) + double(5, 0.0) + \
        varint_field(10, 1)
    hist = ld(1, b"h") + ld(9, ld(1, hp) + varint_field(2, 2))
    buckets = zigzag_field(1, -2) + varint_field(2, 1) + varint_field(2, 300)
    ep = fixed64(4, 301) + zigzag_field(6, -3) + ld(8, buckets)
    expo = ld(1, b"e") + ld(10, ld(1, ep))
    seeds["field0_long_key.bin"] = FIELD0_LONG_KEY + ld(1, ld(2, ld(2, ld(1, b"m"))))
    seeds["unpacked_repeated.bin"] = ld(1, ld(2, ld(2, hist) + ld(2, expo)) + ld(1000, b"\x08\x01"))

    full = seeds["full.bin"]
    seeds["truncated.bin"] = full[: len(full) * 2 // 3]
    seeds["corrupt_length.bin"] = corrupt_length(full)
    return seeds


# ---- logs ---------------------------------------------------------------------------------------

def logs_seeds():
    seeds = {}
    req = logs_svc.ExportLogsServiceRequest()
    rl = req.resource_logs.add(schema_url="https://opentelemetry.io/schemas/1.26.0")
    rl.resource.CopyFrom(make_resource())
    sl = rl.scope_logs.add(schema_url="https://opentelemetry.io/schemas/1.26.0")
    sl.scope.CopyFrom(make_scope())
    bodies = [None, "user logged in", 42, -7, 2.5, True, False, b"\x00\xffbin",
              ["a", 1, {"k": "v"}], {"msg": "structured", "user": {"id": 7, "roles": ["admin"]}},
              "", "h\u00e9llo \u4e16\u754c"]
    for i, body in enumerate(bodies):
        sev = (i * 2) % 25  # 0 (UNSPECIFIED) .. 24 (FATAL4)
        r = sl.log_records.add(time_unix_nano=T0 + i if i % 3 else 0,
                               observed_time_unix_nano=T0 + i + 10, severity_number=sev,
                               severity_text=logs.SeverityNumber.Name(sev)[16:],
                               dropped_attributes_count=i % 2, flags=0x01 if i % 2 else 0)
        if body is not None:
            r.body.CopyFrom(anyv(body))
        if i % 2:
            r.trace_id, r.span_id = TRACE_ID, SPAN_ID
        if i == 3:
            r.event_name = "session.start"
        r.attributes.extend(kvs({"log.file.name": "app.log", "code.lineno": i}))
        if i == 0:
            r.attributes.extend(kvs(ALL_KINDS))
    seeds["full.bin"] = req.SerializeToString(deterministic=True)

    minimal = logs_svc.ExportLogsServiceRequest()
    minimal.resource_logs.add().scope_logs.add().log_records.add(
        body=common.AnyValue(string_value="hello"))
    seeds["minimal.bin"] = minimal.SerializeToString(deterministic=True)
    seeds["empty.bin"] = b""

    multi = logs_svc.ExportLogsServiceRequest()
    for r in range(3):
        rl = multi.resource_logs.add()
        rl.resource.CopyFrom(make_resource(service="svc-%d" % r))
        sl = rl.scope_logs.add()
        for i in range(5):
            sl.log_records.add(time_unix_nano=T0 + i, severity_number=9, severity_text="INFO",
                               body=common.AnyValue(string_value="line %d" % i))
    seeds["multi_resource.bin"] = multi.SerializeToString(deterministic=True)

    bad = logs_svc.ExportLogsServiceRequest()
    bad.resource_logs.add().scope_logs.add().log_records.add(trace_id=TRACE_ID,
                                                             span_id=b"\x01\x02\x03")
    seeds["bad_id_length.bin"] = bad.SerializeToString(deterministic=True)

    # Hand-encoded: an unknown severity number (enums are open), the reserved field 4, field 1000
    # on ResourceLogs, and an AnyValue carrying two members of its oneof (the last one wins).
    rec = fixed64(1, T0) + varint_field(2, 99) + varint_field(4, 1) + \
        ld(5, ld(1, b"first") + varint_field(3, 2 ** 64 - 1)) + fixed32(8, 0xFFFFFFFF)
    seeds["open_enum_unknown_fields.bin"] = ld(1, ld(2, ld(2, rec)) + ld(1000, b""))
    seeds["field0_long_key.bin"] = ld(1, ld(2, ld(2, FIELD0_LONG_KEY + fixed64(1, T0))))
    seeds["strindex_body.bin"] = ld(1, ld(2, ld(2, ld(5, varint_field(8, 3)))))

    full = seeds["full.bin"]
    seeds["truncated.bin"] = full[: len(full) - 3]
    seeds["corrupt_length.bin"] = corrupt_length(full)
    return seeds


# ---- hand encoding ------------------------------------------------------------------------------

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint((field << 3) | wire)


def varint_field(field, n):
    return key(field, 0) + varint(n)


def zigzag_field(field, n):
    return key(field, 0) + varint((n << 1) ^ (n >> 63))


def fixed64(field, n):
    return key(field, 1) + struct.pack("<Q", n)


def double(field, x):
    return key(field, 1) + struct.pack("<d", x)


def fixed32(field, n):
    return key(field, 5) + struct.pack("<I", n)


def ld(field, data):
    return key(field, 2) + varint(len(data)) + data


# Key 0 (field 0, varint) as the non-minimal varint 0x80 0x00, then the value 43.
FIELD0_LONG_KEY = b"\x80\x00\x2b"


def corrupt_length(data):
    """Bumps the first length prefix so it claims more bytes than the body has."""
    assert data[0] == 0x0A  # field 1, length-delimited
    n, i = 0, 1
    shift = 0
    while True:
        b = data[i]
        n |= (b & 0x7F) << shift
        i += 1
        shift += 7
        if not b & 0x80:
            break
    return data[:1] + varint(n + 17) + data[i:]


def main():
    total = 0
    for signal, make in (("traces", traces_seeds), ("metrics", metrics_seeds),
                         ("logs", logs_seeds)):
        out = CORPUS / ("otlp_pb_" + signal)
        out.mkdir(parents=True, exist_ok=True)
        for name, data in sorted(make().items()):
            if len(data) > MAX_SEED:
                sys.exit("%s/%s is %d bytes, over the %d-byte seed limit"
                         % (out.name, name, len(data), MAX_SEED))
            (out / name).write_bytes(data)
            total += 1
            print("%-40s %6d bytes" % (out.name + "/" + name, len(data)))
    print("%d seeds written" % total)


if __name__ == "__main__":
    main()
