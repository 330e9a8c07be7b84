# SPDX-License-Identifier: Apache-2.0
"""Telemetry built with the OpenTelemetry Python SDK, sent through its real OTLP exporters.

Each send_* function builds a fixed set of spans, metrics or log records with the SDK API,
exports them through the chosen exporter (gRPC or HTTP/protobuf, optionally compressed), and
returns what was sent as Export*ServiceRequest messages, encoded by the SDK's own OTLP encoder
from the very objects handed to the exporter.
"""

import time

from opentelemetry import context as otel_context
from opentelemetry import trace as trace_api
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

from opentelemetry.metrics import Observation

TRANSPORTS = ("grpc", "grpc-gzip", "http", "http-gzip", "http-deflate")

# Fixed times so the test can also check values it wrote itself.
T0 = 1_700_000_000_123_456_789

ALL_TYPES = {
    "str": "hello \u00e9\u00e8 \u2603",
    "empty.str": "",
    "bool.t": True,
    "bool.f": False,
    "int": 42,
    "int.neg": -7,
    "int.max": 2**63 - 1,
    "int.min": -(2**63),
    "double": 3.25,
    "double.neg": -0.5,
    "double.big": 1.5e300,
    "arr.str": ["a", "b", ""],
    "arr.bool": [True, False],
    "arr.int": [1, -2, 3],
    "arr.double": [1.5, -2.25],
}
EXTENDED_TYPES = {
    "bytes": b"\x00\x01\xfe\xff",
    "kvlist": {"inner.str": "x", "inner.int": 5, "inner.list": [1, 2],
               "inner.map": {"deep": True}},
    "arr.mixed": ["s", 1, 2.5, False],
}


def resource(transport, extra=None):
    attrs = {"service.name": "otter-it-python", "otter.test.transport": transport,
             "res.int": 7, "res.double": 0.25, "res.bool": True, "res.arr": ["x", "y"]}
    attrs.update(extra or {})
    return Resource(attrs, schema_url="https://opentelemetry.io/schemas/1.26.0")


def _compression(transport):
    from grpc import Compression as GC

    if transport.startswith("grpc"):
        return GC.Gzip if transport.endswith("gzip") else GC.NoCompression
    from opentelemetry.exporter.otlp.proto.http import Compression as HC

    return {"http": HC.NoCompression, "http-gzip": HC.Gzip, "http-deflate": HC.Deflate}[transport]


def exporter(signal, transport, agent, **kw):
    """The SDK's own OTLP exporter for |signal| pointed at |agent|."""
    comp = _compression(transport)
    if transport.startswith("grpc"):
        ep = "http://%s" % agent.grpc_endpoint
        if signal == "traces":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as E
        elif signal == "metrics":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as E
        else:
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as E
        return E(endpoint=ep, insecure=True, compression=comp, timeout=10, **kw)
    ep = agent.http_base + {"traces": "/v1/traces", "metrics": "/v1/metrics",
                            "logs": "/v1/logs"}[signal]
    if signal == "traces":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as E
    elif signal == "metrics":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as E
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as E
    return E(endpoint=ep, compression=comp, timeout=10, **kw)


# ---- tee exporters: record what is handed to the real exporter, and the result ---------------


class TeeSpans(SpanExporter):
    def __init__(self, inner):
        self.inner = inner
        self.sent = []
        self.results = []

    def export(self, spans):
        self.sent.append(encode_spans(spans))
        r = self.inner.export(spans)
        self.results.append(r)
        return r

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True

    def ok(self):
        return bool(self.results) and all(r == SpanExportResult.SUCCESS for r in self.results)


class TeeMetrics(MetricExporter):
    def __init__(self, inner):
        super().__init__(preferred_temporality=inner._preferred_temporality,
                         preferred_aggregation=inner._preferred_aggregation)
        self.inner = inner
        self.sent = []
        self.results = []

    def export(self, metrics_data, timeout_millis=10_000, **kw):
        self.sent.append(encode_metrics(metrics_data))
        r = self.inner.export(metrics_data, timeout_millis=timeout_millis)
        self.results.append(r)
        return r

    def force_flush(self, timeout_millis=10_000):
        return True

    def shutdown(self, timeout_millis=30_000, **kw):
        self.inner.shutdown()

    def ok(self):
        return bool(self.results) and all(r == MetricExportResult.SUCCESS for r in self.results)


class TeeLogs(LogRecordExporter):
    def __init__(self, inner):
        self.inner = inner
        self.sent = []
        self.results = []

    def export(self, batch):
        self.sent.append(encode_logs(batch))
        r = self.inner.export(batch)
        self.results.append(r)
        return r

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True

    def ok(self):
        return bool(self.results) and all(
            getattr(r, "name", str(r)) == "SUCCESS" or r == LogRecordExportResult.SUCCESS
            for r in self.results)


# ---- traces ---------------------------------------------------------------------------------


def send_traces(agent, transport):
    tee = TeeSpans(exporter("traces", transport, agent))
    tp = TracerProvider(resource=resource(transport))
    tp.add_span_processor(BatchSpanProcessor(tee, schedule_delay_millis=60_000))
    tracer = tp.get_tracer("otter.it.tracer", "1.2.3",
                           schema_url="https://opentelemetry.io/schemas/1.26.0",
                           attributes={"scope.attr": "s", "scope.int": 1})
    other = tp.get_tracer("otter.it.other")  # a second scope without version or attributes

    remote = SpanContext(trace_id=0x0AF7651916CD43DD8448EB211C80319C, span_id=0xB7AD6B7169203331,
                         is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED),
                         trace_state=TraceState([("vendor", "v1"), ("otter", "t1")]))
    linked = SpanContext(trace_id=0x5B8EFFF798038103D269B633813FC60C, span_id=0xEEE19B7EC3C1B174,
                         is_remote=True, trace_flags=TraceFlags(TraceFlags.DEFAULT),
                         trace_state=TraceState([("k", "v")]))

    parent_ctx = trace_api.set_span_in_context(trace_api.NonRecordingSpan(remote))
    attrs = dict(ALL_TYPES)
    attrs.update(EXTENDED_TYPES)
    root = tracer.start_span("server-span", context=parent_ctx, kind=SpanKind.SERVER,
                             attributes=attrs, start_time=T0,
                             links=[Link(linked, {"link.str": "l", "link.int": 3,
                                                  "link.arr": [True]}),
                                    Link(remote)])
    root.add_event("ev.one", {"ev.str": "e", "ev.double": 1.25, "ev.arr": ["p", "q"]},
                   timestamp=T0 + 1000)
    root.add_event("ev.empty", timestamp=T0 + 2000)
    root_ctx = trace_api.set_span_in_context(root)
    kinds = [SpanKind.INTERNAL, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER]
    for i, k in enumerate(kinds):
        child = tracer.start_span("child-%d" % i, context=root_ctx, kind=k,
                                  attributes={"child.index": i}, start_time=T0 + 10_000 * (i + 1))
        if i == 0:
            child.set_status(Status(StatusCode.OK))
        elif i == 1:
            child.set_status(Status(StatusCode.ERROR, "boom: \u00fcnicode \"quoted\" \\ back"))
        elif i == 2:
            child.record_exception(ValueError("bad value"), timestamp=T0 + 35_000,
                                   attributes={"extra": 1})
        child.end(end_time=T0 + 10_000 * (i + 1) + 5_000)
    root.set_status(Status(StatusCode.ERROR))
    root.end(end_time=T0 + 1_000_000_000)
    # A root span on a fresh trace in the second scope, live timestamps.
    with other.start_as_current_span("lonely", attributes={"n": 1}):
        time.sleep(0.001)
    assert tp.force_flush(30_000)
    tp.shutdown()
    assert tee.ok(), "the SDK's exporter reported %r" % tee.results
    return tee.sent


# ---- metrics --------------------------------------------------------------------------------


def send_metrics(agent, transport):
    inner = exporter("metrics", transport, agent, preferred_temporality={
        Counter: AggregationTemporality.DELTA,
        Histogram: AggregationTemporality.DELTA,
        UpDownCounter: AggregationTemporality.CUMULATIVE,
        ObservableCounter: AggregationTemporality.CUMULATIVE,
        ObservableUpDownCounter: AggregationTemporality.CUMULATIVE,
        ObservableGauge: AggregationTemporality.CUMULATIVE,
    })
    tee = TeeMetrics(inner)
    reader = PeriodicExportingMetricReader(tee, export_interval_millis=3_600_000)
    views = [
        View(instrument_name="it.exp_histogram", aggregation=ExponentialBucketHistogramAggregation(
            max_size=20, max_scale=5)),
    ]
    mp = MeterProvider(metric_readers=[reader], resource=resource(transport), views=views)
    meter = mp.get_meter("otter.it.meter", "0.9", schema_url="https://opentelemetry.io/schemas/1.26.0",
                         attributes={"meter.attr": True})
    tp = TracerProvider()
    tracer = tp.get_tracer("exemplars")

    counter = meter.create_counter("it.counter", unit="{req}", description="delta monotonic sum")
    updown = meter.create_up_down_counter("it.updown", unit="1", description="cumulative non-monotonic")
    hist = meter.create_histogram("it.histogram", unit="ms", description="explicit buckets",
                                  explicit_bucket_boundaries_advisory=[0, 5, 10, 100])
    exph = meter.create_histogram("it.exp_histogram", unit="s", description="exponential")
    gauge = meter.create_gauge("it.gauge", unit="Cel", description="synchronous gauge")
    fgauge = meter.create_gauge("it.gauge.double", unit="1")

    def obs_counter(options):
        yield Observation(1000, {"cpu": 0})
        yield Observation(2000, {"cpu": 1})

    def obs_gauge(options):
        yield Observation(-3.5, {"zone": "a"})
        yield Observation(0, {"zone": "b"})

    def obs_updown(options):
        yield Observation(-12, {})

    meter.create_observable_counter("it.obs_counter", [obs_counter], unit="s",
                                    description="cumulative monotonic")
    meter.create_observable_gauge("it.obs_gauge", [obs_gauge], unit="Cel")
    meter.create_observable_up_down_counter("it.obs_updown", [obs_updown])

    pa = {"route": "/a", "code": 200, "ok": True, "ratio": 0.5, "tags": ["x", "y"]}
    with tracer.start_as_current_span("exemplar-span"):
        counter.add(5, pa)
        counter.add(2, {"route": "/b"})
        hist.record(7.5, pa)
        hist.record(0, pa)
        hist.record(250, pa)
        exph.record(0.003, {"k": "v"})
    counter.add(1, pa)
    updown.add(10, {"q": "a"})
    updown.add(-15, {"q": "a"})
    hist.record(1.0, {"route": "/b"})
    for v in (0.5, 1, 2, 4, 8, 1000, 0):
        exph.record(v, {"k": "v"})
    exph.record(3.0, {"k": "other"})
    gauge.set(21, {"room": "r1"})
    gauge.set(-4, {"room": "r2"})
    fgauge.set(0.125)

    assert mp.force_flush(30_000)
    assert tee.ok(), "the SDK's exporter reported %r" % tee.results
    mp.shutdown()  # may export once more: those requests count as sent too
    tp.shutdown()
    assert tee.ok(), "the SDK's exporter reported %r" % tee.results
    return tee.sent


# ---- logs -----------------------------------------------------------------------------------


LOG_BODIES = [
    "plain string body",
    "",
    12345,
    -1,
    2.5,
    True,
    False,
    b"\x00bytes\xff",
    ["a", 1, 2.5, True, None, ["nested"], {"m": 1}],
    {"msg": "structured", "n": 3, "list": [1, 2], "map": {"deep": {"deeper": "yes"}},
     "bytes": b"\x01", "none": None},
    [],
    {},
]


def send_logs(agent, transport):
    tee = TeeLogs(exporter("logs", transport, agent))
    lp = LoggerProvider(resource=resource(transport, {"res.kv": {"a": "b"}}))
    lp.add_log_record_processor(BatchLogRecordProcessor(tee, schedule_delay_millis=60_000))
    logger = lp.get_logger("otter.it.logger", "4.5.6",
                           schema_url="https://opentelemetry.io/schemas/1.26.0",
                           attributes={"logger.attr": "la"})
    plain = lp.get_logger("otter.it.plain")

    tp = TracerProvider()
    tracer = tp.get_tracer("logs")
    severities = list(SeverityNumber)
    for i, body in enumerate(LOG_BODIES):
        sev = severities[i % len(severities)]
        attrs = {"seq": i}
        if i == 0:
            attrs.update(ALL_TYPES)
            attrs.update(EXTENDED_TYPES)
        logger.emit(timestamp=T0 + i, observed_timestamp=T0 + 1000 + i, severity_number=sev,
                    severity_text=sev.name if i % 3 else None, body=body, attributes=attrs,
                    event_name="otter.event" if i == 1 else None)
    # Trace context on logs: emitted inside a sampled span.
    with tracer.start_as_current_span("log-parent"):
        logger.emit(timestamp=T0 + 100, severity_number=SeverityNumber.WARN, severity_text="WARN",
                    body="inside a span", attributes={"seq": 100})
        ctx = otel_context.get_current()
    plain.emit(timestamp=T0 + 101, severity_number=SeverityNumber.ERROR4, body="explicit context",
               context=ctx, attributes={"seq": 101})
    plain.emit(body="no timestamp", attributes={"seq": 102})
    assert lp.force_flush(30_000)
    assert tee.ok(), "the SDK's exporter reported %r" % tee.results
    lp.shutdown()
    tp.shutdown()
    return tee.sent
