# SPDX-License-Identifier: Apache-2.0
"""`otterd translate --to xray`: OTLP in, X-Ray segment documents out, one per line.

Inputs are hand-written OTLP/JSON and a file the OpenTelemetry Python SDK produced through
otterd's own file exporter; every expected value below is written out by hand from the span
(xray.md): trace id "1-<epoch hex>-<rest>", name, times in seconds, http block, error/fault,
subsegment fields. Random ids do not occur in these cases, so documents compare exactly as
parsed JSON (numbers within 1e-6).
"""

import json
import subprocess
import time

import pytest

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanKind, set_span_in_context

# A recent epoch, so that the trace ids pass X-Ray's 28-day check.
EPOCH = int(time.time()) - 3600
EPOCH_HEX = "%08x" % EPOCH
TRACE_REST = "77b34da6a3ce929d0e0e4736"
TRACE_ID = EPOCH_HEX + TRACE_REST
XRAY_TRACE_ID = "1-%s-%s" % (EPOCH_HEX, TRACE_REST)
T0 = EPOCH * 1_000_000_000 + 250_000_000  # EPOCH + 0.25 s


def run(otterd_bin, *args, stdin=None):
    p = subprocess.run([str(otterd_bin), *map(str, args)], input=stdin, capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def docs_of(out):
    assert out.endswith("\n") or out == ""
    return [json.loads(line) for line in out.splitlines()]


def assert_doc(got, want):
    """Same keys and values; numbers within 1e-6."""
    assert set(got) == set(want), (sorted(got), sorted(want))
    for k, v in want.items():
        if isinstance(v, float):
            assert abs(got[k] - v) < 1e-6, (k, got[k], v)
        elif isinstance(v, dict):
            assert_doc(got[k], v)
        else:
            assert got[k] == v, (k, got[k], v)


def attr(k, v):
    if isinstance(v, bool):
        return {"key": k, "value": {"boolValue": v}}
    if isinstance(v, int):
        return {"key": k, "value": {"intValue": str(v)}}
    return {"key": k, "value": {"stringValue": v}}


def request(spans, service="cart"):
    return {"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", service)]},
        "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}]}]}


SERVER = {"traceId": TRACE_ID, "spanId": "00f067aa0ba902b7", "name": "GET /cart", "kind": 2,
          "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 1_500_000_000),
          "attributes": [attr("http.method", "GET"), attr("http.status_code", 404),
                         attr("http.url", "http://shop.example/cart?id=7"),
                         attr("user.tier", "gold")]}
CLIENT = {"traceId": TRACE_ID, "spanId": "53995c3f42cd8ad8", "parentSpanId": "00f067aa0ba902b7",
          "name": "call", "kind": 3, "startTimeUnixNano": str(T0 + 100_000_000),
          "endTimeUnixNano": str(T0 + 600_000_000), "status": {"code": 2, "message": "boom"},
          "attributes": [attr("peer.service", "inventory")]}
# A random W3C id: its first 4 bytes are no recent epoch, so X-Ray refuses it by default.
W3C = {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "1111111111111111", "name": "w3c",
       "kind": 1, "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 1)}

WANT_SERVER = {
    "name": "cart", "id": "00f067aa0ba902b7", "trace_id": XRAY_TRACE_ID,
    "start_time": EPOCH + 0.25, "end_time": EPOCH + 1.75,
    "http": {"request": {"method": "GET", "url": "http://shop.example/cart?id=7"},
             "response": {"status": 404, "content_length": 0}},
    "fault": False, "error": True, "throttle": False,
    "aws": {"xray": {"auto_instrumentation": False}},
    "metadata": {"default": {"otel.resource.service.name": "cart", "user.tier": "gold"}},
}
WANT_CLIENT = {
    "name": "inventory", "id": "53995c3f42cd8ad8", "trace_id": XRAY_TRACE_ID,
    "parent_id": "00f067aa0ba902b7", "type": "subsegment", "namespace": "remote",
    "start_time": EPOCH + 0.35, "end_time": EPOCH + 0.85,
    "fault": True, "error": False, "throttle": False,
    "cause": {"exceptions": [{"message": "boom"}]},
    "aws": {"xray": {"auto_instrumentation": False}},
    # The name does not consume peer.service: it stays a metadata candidate (xray.md §11).
    "metadata": {"default": {"peer.service": "inventory"}},
}


def check_client(doc):
    # The cause's exception id is random (xray.md §8): check its shape, then the rest.
    exc = doc["cause"]["exceptions"][0]
    assert len(exc.pop("id")) == 16
    assert_doc(doc, WANT_CLIENT)


def test_json_lines(otterd_bin, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps(request([SERVER])) + "\n\n" + json.dumps(request([CLIENT, W3C]))
                 + "\n")
    rc, out, err = run(otterd_bin, "translate", "--to", "xray", f)
    assert rc == 0, err
    docs = docs_of(out)
    assert len(docs) == 2
    assert_doc(docs[0], WANT_SERVER)
    check_client(docs[1])
    assert "1 of 3 spans dropped: trace id not valid for X-Ray" in err


def test_single_document_from_stdin_and_config(otterd_bin, tmp_path):
    """A pretty-printed request on stdin; the config's awsxray options apply."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("receivers:\n  otlp:\n    protocols:\n      grpc:\n"
                   "exporters:\n  awsxray:\n    indexed_attributes: [user.tier]\n"
                   "    skip_timestamp_validation: true\n    allow_dot: false\n"
                   "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n"
                   "      exporters: [awsxray]\n")
    body = json.dumps(request([SERVER, W3C]), indent=2).encode()
    rc, out, err = run(otterd_bin, "translate", "--config", cfg, "--to=xray", "-", stdin=body)
    assert rc == 0, err
    assert err == ""
    docs = docs_of(out)
    assert len(docs) == 2
    want = dict(WANT_SERVER, annotations={"user_tier": "gold"},
                metadata={"default": {"otel.resource.service.name": "cart"}})
    assert_doc(docs[0], want)
    # With the check skipped the W3C id is reformatted verbatim.
    assert docs[1]["trace_id"] == "1-4bf92f35-77b34da6a3ce929d0e0e4736"
    assert docs[1]["name"] == "w3c"


def test_bad_input(otterd_bin, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps(request([SERVER])) + "\n" + '{"resourceSpans": [}\n'
                 + json.dumps(request([{"traceId": "abc"}])) + "\n")
    rc, out, err = run(otterd_bin, "translate", "--to", "xray", f)
    assert rc == 1
    # Good lines are still translated; each bad one is named by its line.
    assert len(docs_of(out)) == 1
    lines = err.splitlines()
    assert lines[0].startswith("%s:2: error: not an OTLP/JSON trace request: " % f), err
    assert lines[1].startswith("%s:3: error: not an OTLP/JSON trace request: " % f), err
    assert "traceId" in lines[1]

    rc, out, err = run(otterd_bin, "translate", "--to", "xray", tmp_path / "missing.json")
    assert rc == 1 and "cannot open" in err
    rc, out, err = run(otterd_bin, "translate", "--to", "xray", "-", stdin=b"  \n")
    assert rc == 1 and "is empty" in err
    rc, out, err = run(otterd_bin, "translate", "--to", "xray", "-", stdin=b"\x0a\x03abc")
    assert rc == 1 and "not an OTLP protobuf trace request" in err
    rc, out, err = run(otterd_bin, "translate", f)
    assert rc == 2 and "--to is required" in err
    rc, out, err = run(otterd_bin, "translate", "--to", "emf", f)
    assert rc == 1 and "not an OTLP/JSON metrics request" in err
    rc, out, err = run(otterd_bin, "translate", "--to", "jaeger", f)
    assert rc == 2 and "expected xray, emf or cwlogs" in err
    cfg = tmp_path / "noxray.yaml"
    cfg.write_text("receivers:\n  otlp:\n    protocols:\n      grpc:\n"
                   "exporters:\n  nop:\nservice:\n  pipelines:\n    traces:\n"
                   "      receivers: [otlp]\n      exporters: [nop]\n")
    rc, out, err = run(otterd_bin, "translate", "--to", "xray", "--config", cfg, f)
    assert rc == 1 and "defines no awsxray exporter" in err


def test_help_mentions_translate(otterd_bin):
    rc, out, err = run(otterd_bin, "--help")
    assert rc == 0
    assert "otterd translate --to xray [--config FILE] [FILE|-]" in out
    assert "otterd translate --to cwlogs [--config FILE] [FILE|-]" in out


class XrayIds(IdGenerator):
    """X-Ray compatible ids, fixed so the expectations can be written by hand."""

    def __init__(self):
        self.spans = iter([0x1A2B3C4D5E6F7081, 0x0102030405060708])

    def generate_span_id(self):
        return next(self.spans)

    def generate_trace_id(self):
        return int(TRACE_ID, 16)


def test_sdk_file_exporter_output(otterd, otterd_bin):
    """SDK -> otterd (OTLP/HTTP) -> file exporter's traces.jsonl -> translate."""
    agent = otterd(grpc=False)
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}),
                              id_generator=XrayIds())
    exporter = OTLPSpanExporter(endpoint=agent.http_base + "/v1/traces", timeout=10)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("otter.it.xray")
    root = tracer.start_span("GET /orders", kind=SpanKind.SERVER, start_time=T0, attributes={
        "http.request.method": "GET", "http.response.status_code": 503,
        "url.full": "http://shop.example/orders"})
    child = tracer.start_span("db", kind=SpanKind.CLIENT, context=set_span_in_context(root),
                              start_time=T0 + 10_000_000, attributes={"peer.service": "pg"})
    child.end(end_time=T0 + 20_000_000)
    root.end(end_time=T0 + 2_000_000_000)
    provider.shutdown()
    agent.stop()
    rc, out, err = run(otterd_bin, "translate", "--to", "xray", agent.out_path("traces"))
    assert rc == 0, err
    docs = {d["id"]: d for d in docs_of(out)}
    assert len(docs) == 2
    sdk = {"sdk": "opentelemetry for python", "auto_instrumentation": False}
    root_doc = docs["1a2b3c4d5e6f7081"]
    sdk["sdk_version"] = root_doc["aws"]["xray"]["sdk_version"]
    assert_doc(root_doc, {
        "name": "shop", "id": "1a2b3c4d5e6f7081", "trace_id": XRAY_TRACE_ID,
        "start_time": EPOCH + 0.25, "end_time": EPOCH + 2.25,
        "http": {"request": {"method": "GET", "url": "http://shop.example/orders"},
                 "response": {"status": 503, "content_length": 0}},
        "fault": True, "error": False, "throttle": False,
        "aws": {"xray": sdk},
        "metadata": {"default": root_doc["metadata"]["default"]},
    })
    assert root_doc["metadata"]["default"]["otel.resource.service.name"] == "shop"
    assert_doc(docs["0102030405060708"], {
        "name": "pg", "id": "0102030405060708", "trace_id": XRAY_TRACE_ID,
        "parent_id": "1a2b3c4d5e6f7081", "type": "subsegment", "namespace": "remote",
        "start_time": EPOCH + 0.26, "end_time": EPOCH + 0.27,
        "fault": False, "error": False, "throttle": False,
        "aws": {"xray": sdk},
        "metadata": {"default": {"peer.service": "pg"}},
    })


# --to cwlogs: OTLP logs in, one {"logGroupName", "logStreamName", "timestamp", "message"} per line.

def logs_request(records, resource_attrs, scope=None):
    sl = {"logRecords": records}
    if scope is not None:
        sl["scope"] = scope
    return {"resourceLogs": [{"resource": {"attributes": resource_attrs}, "scopeLogs": [sl]}]}


LOG_INFO = {"timeUnixNano": "1700000000123456789", "observedTimeUnixNano": "1700000009000000000",
            "severityNumber": 9, "severityText": "INFO", "body": {"stringValue": 'paid "7"'},
            "traceId": TRACE_ID, "spanId": "00f067aa0ba902b7",
            "attributes": [attr("order", 7), attr("ok", True)]}
# No record time: the observed time is the timestamp. A map body, an unset severity.
LOG_OBSERVED = {"observedTimeUnixNano": "1700000001999999999",
                "body": {"kvlistValue": {"values": [{"key": "z", "value": {"intValue": "1"}},
                                                    {"key": "a", "value": {"stringValue": "b"}}]}}}
EMF_BODY = ('{"_aws":{"Timestamp":1700000000000,"LogGroupName":"emf-group",'
            '"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],'
            '"Metrics":[{"Name":"m"}]}]},"m":1}')


def cw_config(tmp_path, **opts):
    lines = "".join("    %s: %s\n" % (k, json.dumps(v)) for k, v in opts.items())
    f = tmp_path / "cw.yaml"
    f.write_text("receivers:\n  otlp:\n    protocols:\n      grpc:\n"
                 "exporters:\n  awscloudwatchlogs:\n    region: us-east-1\n" + lines +
                 "service:\n  pipelines:\n    logs:\n      receivers: [otlp]\n"
                 "      exporters: [awscloudwatchlogs]\n")
    return f


def test_cwlogs_default_messages(otterd_bin, tmp_path):
    f = tmp_path / "logs.jsonl"
    f.write_text(json.dumps(logs_request([LOG_INFO], [attr("service.name", "cart")],
                                         scope={"name": "shop.lib", "version": "1.2"})) + "\n"
                 + json.dumps(logs_request([LOG_OBSERVED], [])) + "\n")
    cfg = cw_config(tmp_path, log_group_name="/otter/{ServiceName}",
                    log_stream_name="node-{NodeName}")
    rc, out, err = run(otterd_bin, "translate", "--to", "cwlogs", "--config", cfg, f)
    assert rc == 0, err
    assert err == ""
    events = docs_of(out)
    assert events == [
        {"logGroupName": "/otter/cart", "logStreamName": "node-undefined",
         "timestamp": 1700000000123,
         "message": '{"body":"paid \\"7\\"","severity_number":9,"severity_text":"INFO",'
                    '"trace_id":"%s","span_id":"00f067aa0ba902b7",'
                    '"attributes":{"ok":true,"order":7},'
                    '"scope":{"name":"shop.lib","version":"1.2"},'
                    '"resource":{"service.name":"cart"}}' % TRACE_ID},
        {"logGroupName": "/otter/undefined", "logStreamName": "node-undefined",
         "timestamp": 1700000001999,
         "message": '{"body":{"a":"b","z":1}}'},
    ]
    # Each line is exactly the JSON object (keys in this order), nothing else.
    assert out.splitlines()[1] == ('{"logGroupName":"/otter/undefined","logStreamName":'
                                   '"node-undefined","timestamp":1700000001999,"message":'
                                   '"{\\"body\\":{\\"a\\":\\"b\\",\\"z\\":1}}"}')

    # Without --config: the same messages under the placeholder names.
    rc, out, err = run(otterd_bin, "translate", "--to", "cwlogs", "-", stdin=f.read_bytes())
    assert rc == 0, err
    got = docs_of(out)
    assert [(e["logGroupName"], e["logStreamName"]) for e in got] == \
        [("otterd-translate", "otterd-translate")] * 2
    assert [e["message"] for e in got] == [e["message"] for e in events]


def test_cwlogs_raw_log_and_drops(otterd_bin, tmp_path):
    records = [LOG_INFO,
               {"timeUnixNano": "1700000002000000000", "body": {"stringValue": EMF_BODY}},
               {"timeUnixNano": "1700000003000000000", "body": {"intValue": "42"}}]
    f = tmp_path / "logs.json"
    f.write_text(json.dumps(logs_request(records, [attr("service.name", "cart")]), indent=2))
    cfg = cw_config(tmp_path, log_group_name="/raw/{ServiceName}", log_stream_name="s",
                    raw_log=True)
    rc, out, err = run(otterd_bin, "translate", "--to", "cwlogs", "--config", cfg, f)
    assert rc == 0, err
    assert docs_of(out) == [
        {"logGroupName": "/raw/cart", "logStreamName": "s", "timestamp": 1700000000123,
         "message": 'paid "7"'},
        # An EMF body goes to the group it names (the stream stays the configured one).
        {"logGroupName": "emf-group", "logStreamName": "s", "timestamp": 1700000002000,
         "message": EMF_BODY},
        {"logGroupName": "/raw/cart", "logStreamName": "s", "timestamp": 1700000003000,
         "message": "42"},
    ]
    cfg = cw_config(tmp_path, log_group_name="/raw/{ServiceName}", log_stream_name="s",
                    raw_log=True, emf_only=True)
    rc, out, err = run(otterd_bin, "translate", "--to", "cwlogs", "--config", cfg, f)
    assert rc == 0, err
    assert [e["message"] for e in docs_of(out)] == [EMF_BODY]
    assert "2 of 3 log records dropped: not_emf" in err
    # A name that is not valid after expansion (':' is not allowed in a group name).
    cfg = cw_config(tmp_path, log_group_name="bad:{ServiceName}", log_stream_name="s")
    rc, out, err = run(otterd_bin, "translate", "--to", "cwlogs", "--config", cfg, f)
    assert rc == 0, err
    assert out == ""
    assert "3 of 3 log records dropped: invalid_name" in err


def test_cwlogs_messages_cut_as_sent(otterd_bin, tmp_path):
    """Over max_event_size (64 here: 64 - 26 = 38 bytes of message), the message is printed as
    the exporter sends it: cut on a character boundary, then "[Truncated...]" (14 bytes)."""
    body = "abcdefghijklmnopqrstuvw\u00e9-tail-tail-tail"  # bytes 23-24 are the two of é
    f = tmp_path / "long.json"
    f.write_text(json.dumps(logs_request(
        [{"timeUnixNano": "1700000000000000000", "body": {"stringValue": body}},
         {"timeUnixNano": "1700000001000000000", "body": {"stringValue": "short"}}], [])))
    cfg = cw_config(tmp_path, log_group_name="g", log_stream_name="s", raw_log=True,
                    max_event_size=64)
    rc, out, err = run(otterd_bin, "translate", "--to", "cwlogs", "--config", cfg, f)
    assert rc == 0, err
    # 38 - 14 = 24 bytes may stay; the 24th is the first byte of é, so 23 stay.
    assert [e["message"] for e in docs_of(out)] == [
        "abcdefghijklmnopqrstuvw[Truncated...]", "short"]
    assert "1 of 2 events are over the per-event limit of 64 bytes" in err


def test_cwlogs_bad_input(otterd_bin, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps(logs_request([LOG_INFO], [])) + "\n" + '{"resourceLogs": [}\n')
    rc, out, err = run(otterd_bin, "translate", "--to", "cwlogs", f)
    assert rc == 1
    assert len(docs_of(out)) == 1
    assert err.startswith("%s:2: error: not an OTLP/JSON logs request: " % f), err
    rc, out, err = run(otterd_bin, "translate", "--to", "cwlogs", "-", stdin=b"\x0a\x03abc")
    assert rc == 1 and "not an OTLP protobuf logs request" in err
    cfg = tmp_path / "nocw.yaml"
    cfg.write_text("receivers:\n  otlp:\n    protocols:\n      grpc:\n"
                   "exporters:\n  nop:\nservice:\n  pipelines:\n    logs:\n"
                   "      receivers: [otlp]\n      exporters: [nop]\n")
    rc, out, err = run(otterd_bin, "translate", "--to", "cwlogs", "--config", cfg, f)
    assert rc == 1 and "defines no awscloudwatchlogs exporter" in err
