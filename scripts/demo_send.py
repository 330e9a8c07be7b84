"""Sends one trace, one log record and one metric to a local otterd with the OTel Python SDK."""
import logging

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

resource = Resource.create({"service.name": "otter-demo", "deployment.environment": "laptop"})

tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(
    BatchSpanProcessor(OTLPSpanExporter(endpoint="http://localhost:4317", insecure=True)))
tracer = tracer_provider.get_tracer("demo")
with tracer.start_as_current_span("POST /chat", kind=trace.SpanKind.SERVER) as span:
    span.set_attribute("http.request.method", "POST")
    span.set_attribute("http.response.status_code", 200)
    with tracer.start_as_current_span("bedrock.converse", kind=trace.SpanKind.CLIENT):
        pass

logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(
    BatchLogRecordProcessor(OTLPLogExporter(endpoint="http://localhost:4317", insecure=True)))
set_logger_provider(logger_provider)
log = logging.getLogger("otter.demo")
log.addHandler(LoggingHandler(logger_provider=logger_provider))
log.setLevel(logging.INFO)
log.warning("answer took %d ms", 250)

reader = PeriodicExportingMetricReader(
    OTLPMetricExporter(endpoint="http://localhost:4318/v1/metrics"), export_interval_millis=60000)
meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
meter_provider.get_meter("demo").create_counter("chat.requests").add(3, {"route": "/chat"})

tracer_provider.shutdown()
logger_provider.shutdown()
meter_provider.shutdown()
print("sent: 2 spans, 1 log record, 1 metric")
